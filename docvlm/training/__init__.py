"""Training of the models docvlm builds itself, from labelled documents (outside the engines: the engines never import ingest).

- ``tables``: the layout engine's table model (column classifier + row segmenter), ``fit(docs, out_dir, init_dir, seed)``;
- ``labelled``: labelled folders (e-invoices with their truth files, invoice2data, docvlm ground truth) as training documents.
"""

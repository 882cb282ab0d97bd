"""Labelled data: gold labels in several formats and how a predicted value is matched against them.

- ``formats``: the label formats and ``DatasetError`` (a leaf, so a command line can name them);
- ``gold``: docvlm, invoice2data, SROIE and DocILE labels (and SROIE transcripts) into ``GoldDoc``;
- ``einvoice``: the truth of an e-invoice, read from its own XML;
- ``values``: ``values_match`` and line-item matching, as the README's "how a field counts as right".

The library trains and cross-validates the layout model on labelled folders with these; the
evaluation (``evaluation/``) scores records with them. Nothing is imported here, so naming the
formats loads no schema.
"""

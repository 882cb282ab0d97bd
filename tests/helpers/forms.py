"""A generated delivery-note form (a PDF with a text layer) and what it prints, for the form tests.

The layouts are those the key-value reader must handle: colon labels, a value below its label,
a row of labels over a row of values, a box group, a single checkbox, a filled and an empty
underscored blank. ``EXPECTED`` is what the form prints, per ``samples/forms/mymodels.DeliveryNote`` field.
"""

from __future__ import annotations

from pathlib import Path

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

EXPECTED = {
    "delivery_note_number": "DN-2024-0117",
    "delivery_date": "2024-03-12",
    "order_number": "PO-5531",
    "customer": "Muller Bau GmbH",
    "carrier": "Nordfracht",
    "vehicle": "HH-XY 123",
    "packages": 4,
    "shipping": "Express",
    "goods_received_in_good_condition": True,
    "received_by": "J. Schmidt",
    "remarks": None,
}


def form_lines(german: bool = False) -> list[tuple[float, float, str]]:
    """(x, y, text) lines of the form; ``german`` prints the labels in German."""
    lab = {
        "title": "LIEFERSCHEIN" if german else "DELIVERY NOTE",
        "no": "Lieferscheinnummer:" if german else "Delivery Note No:",
        "date": "Lieferdatum:" if german else "Delivery Date:",
        "order": "Bestellnummer:" if german else "Order Ref:",
        "customer": "Kunde:" if german else "Customer:",
        "carrier": "Spediteur" if german else "Carrier",
        "vehicle": "Fahrzeug" if german else "Vehicle",
        "packages": "Pakete" if german else "Packages",
        "shipping": "Versand:" if german else "Shipping:",
        "received_ok": "Ware in gutem Zustand erhalten" if german else "Goods received in good condition",
        "by": "Empfangen von" if german else "Received by",
        "remarks": "Bemerkungen" if german else "Remarks",
    }
    return [
        (60, 60, lab["title"]),
        (60, 100, f"{lab['no']} DN-2024-0117"),
        (330, 100, f"{lab['date']} 12.03.2024"),
        (60, 125, f"{lab['order']} PO-5531"),
        (60, 160, lab["customer"]),
        (60, 176, "Muller Bau GmbH"),
        (60, 215, lab["carrier"]),
        (230, 215, lab["vehicle"]),
        (400, 215, lab["packages"]),
        (60, 231, "Nordfracht"),
        (230, 231, "HH-XY 123"),
        (400, 231, "4"),
        (60, 270, f"{lab['shipping']} \u2612 Express   \u2610 Standard"),
        (60, 300, f"\u2612 {lab['received_ok']}"),
        (60, 340, f"{lab['by']} ____________________"),
        (60 + (95 if german else 75), 337, "J. Schmidt"),
        (60, 370, f"{lab['remarks']} ____________________"),
    ]


def make_form_pdf(path: Path, german: bool = False) -> Path:
    """The delivery-note form as a one-page A4 PDF (DejaVu Sans, which has the box glyphs)."""
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    for x, y, text in form_lines(german):
        page.insert_text((x, y), text, fontsize=10, fontname="dejavu", fontfile=str(FONT))
    doc.save(path)
    doc.close()
    return path

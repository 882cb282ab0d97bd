"""Form vocabulary: checkbox glyphs, blanks, and the words of form labels in five languages.

``FORM_WORDS`` maps an English word (the language schema field names are written in) to its
translations in German, French, Dutch and Spanish, and to its abbreviations. The key-value
reader's mapping (``layout.kvmap``) reads a printed label ("Lieferdatum", "N° de commande") as
these English words, so a field ``delivery_date`` or ``order_number`` matches it in any of them.
German compounds are split into the words of this table ("Lieferscheinnummer" -> delivery note
number). Words are lower case, without accents.
"""

from __future__ import annotations

import re

#: glyphs (and ASCII spellings) of a ticked and of an empty checkbox
CHECKED_BOXES = frozenset({"☑", "☒", "■", "▣", "✓", "✔", "✗", "✘", "[x]", "[X]", "(x)", "(X)", "⊠"})
EMPTY_BOXES = frozenset({"☐", "□", "▢", "[ ]", "[]", "( )", "()", "○", "◯"})
#: a run of underscores or dots that is a blank to fill in
BLANK = re.compile(r"^(?:_{3,}|\.{5,}|…{2,})$")
#: printed values that tick a yes/no field
YES_WORDS = frozenset({"yes", "y", "ja", "oui", "si", "sí", "true", "x", "checked"})
NO_WORDS = frozenset({"no", "n", "nein", "non", "nee", "false", "unchecked"})

#: words a label may be made of that say nothing about the field ("the", "of", "please enter")
LABEL_STOPWORDS = frozenset(
    """the a an of for to in on at by is your our please enter fill der die das des dem den
    ein eine le la les l du de d un une het een van voor el los las del un una y und et en""".split()
)

FORM_WORDS: dict[str, tuple[str, ...]] = {
    "number": ("no", "nr", "num", "nummer", "numero", "n", "nº", "n°", "#", "nro", "nb"),
    "date": ("datum", "fecha", "dated", "dat"),
    "time": ("zeit", "uhrzeit", "heure", "tijd", "hora"),
    "delivery": ("liefer", "lieferung", "livraison", "levering", "lever", "entrega", "deliver", "delivered"),
    "note": ("schein", "bon", "bordereau", "bon", "nota", "albaran", "albarán", "slip", "notice"),
    "order": (
        "bestellung",
        "bestell",
        "auftrag",
        "auftrags",
        "commande",
        "bestelling",
        "order",
        "pedido",
        "orden",
    ),
    "purchase": ("einkauf", "achat", "inkoop", "compra", "po"),
    "invoice": ("rechnung", "rechnungs", "facture", "factuur", "factura", "inv"),
    "customer": ("kunde", "kunden", "client", "klant", "cliente", "buyer", "kd"),
    "supplier": ("lieferant", "fournisseur", "leverancier", "proveedor", "vendor", "seller"),
    "vendor": ("verkaufer", "verkaeufer", "vendeur", "verkoper", "vendedor", "supplier", "seller"),
    "sender": ("absender", "expediteur", "expéditeur", "afzender", "remitente", "shipper", "from"),
    "recipient": ("empfanger", "empfaenger", "destinataire", "ontvanger", "destinatario", "consignee", "to"),
    "consignee": ("empfanger", "destinataire", "geadresseerde", "consignatario", "recipient"),
    "carrier": ("spediteur", "frachtfuhrer", "transporteur", "vervoerder", "transportista", "haulier"),
    "driver": ("fahrer", "chauffeur", "bestuurder", "conductor"),
    "vehicle": (
        "fahrzeug",
        "kennzeichen",
        "vehicule",
        "véhicule",
        "voertuig",
        "kenteken",
        "vehiculo",
        "truck",
    ),
    "name": ("name", "nom", "naam", "nombre", "namen"),
    "first": ("vorname", "vor", "prenom", "prénom", "voornaam", "given"),
    "last": ("nachname", "familienname", "achternaam", "apellido", "apellidos", "surname", "family"),
    "company": (
        "firma",
        "unternehmen",
        "societe",
        "société",
        "entreprise",
        "bedrijf",
        "empresa",
        "organisation",
    ),
    "address": ("adresse", "anschrift", "adres", "direccion", "dirección", "addr"),
    "street": ("strasse", "straße", "str", "rue", "straat", "calle"),
    "city": ("stadt", "ort", "ville", "stad", "plaats", "ciudad", "town"),
    "postcode": ("plz", "postleitzahl", "postal", "zip", "postcode", "cp"),
    "country": ("land", "pays", "pais", "país"),
    "phone": (
        "telefon",
        "tel",
        "telephone",
        "téléphone",
        "telefoon",
        "telefono",
        "teléfono",
        "mobile",
        "fon",
    ),
    "email": ("mail", "e-mail", "courriel", "correo"),
    "signature": ("unterschrift", "signatur", "signature", "handtekening", "firma", "signed"),
    "quantity": ("menge", "anzahl", "quantite", "quantité", "qte", "aantal", "cantidad", "qty", "stk"),
    "weight": ("gewicht", "poids", "peso", "wt"),
    "gross": ("brutto", "brut", "bruto"),
    "net": ("netto", "neto"),
    "package": (
        "packstuck",
        "paket",
        "colis",
        "pakket",
        "colli",
        "bulto",
        "parcel",
        "packages",
        "pkg",
        "pakete",
    ),
    "pallet": ("palette", "paletten", "pallets", "pallet", "palet"),
    "reference": (
        "referenz",
        "bezug",
        "zeichen",
        "reference",
        "référence",
        "referentie",
        "kenmerk",
        "referencia",
        "ref",
    ),
    "description": (
        "beschreibung",
        "bezeichnung",
        "designation",
        "désignation",
        "omschrijving",
        "descripcion",
        "descripción",
    ),
    "article": ("artikel", "article", "articulo", "artículo", "item", "product", "produkt", "produit"),
    "code": ("kode", "codigo", "código", "sku"),
    "total": ("gesamt", "summe", "totaal", "totale", "importe"),
    "amount": ("betrag", "montant", "bedrag"),
    "price": ("preis", "prix", "prijs", "precio"),
    "tax": ("steuer", "mwst", "ust", "taxe", "tva", "btw", "iva", "vat", "gst"),
    "due": ("fallig", "fällig", "echeance", "échéance", "vervaldatum", "vencimiento"),
    "payment": ("zahlung", "zahlungs", "paiement", "betaling", "pago"),
    "method": ("art", "methode", "méthode", "methode", "metodo", "método", "mode"),
    "account": ("konto", "compte", "rekening", "cuenta"),
    "department": ("abteilung", "departement", "département", "afdeling", "departamento", "dept"),
    "contact": ("ansprechpartner", "kontakt", "contact", "contactpersoon", "contacto"),
    "received": ("erhalten", "empfangen", "recu", "reçu", "ontvangen", "recibido"),
    "shipped": (
        "versandt",
        "versand",
        "expedie",
        "expédié",
        "verzonden",
        "enviado",
        "dispatched",
        "dispatch",
    ),
    "ship": ("versand", "expedition", "expédition", "verzending", "envio", "envío", "shipping", "shipment"),
    "tracking": ("sendungsverfolgung", "suivi", "tracking", "seguimiento", "track"),
    "remarks": (
        "bemerkung",
        "bemerkungen",
        "anmerkung",
        "remarques",
        "opmerkingen",
        "observaciones",
        "comments",
        "notes",
    ),
    "birth": ("geburt", "geburtsdatum", "naissance", "geboorte", "nacimiento", "born", "dob"),
    "place": ("ort", "lieu", "plaats", "lugar"),
    "type": ("typ", "art", "soort", "tipo"),
    "status": ("zustand", "statut", "estado"),
    "id": ("kennung", "identifiant", "identificatie", "identificador", "ident"),
    "from": ("von", "de", "van", "desde"),
    "to": ("an", "nach", "a", "naar", "hasta", "bis"),
    "by": ("durch", "von", "par", "door", "por"),
    "goods": ("ware", "waren", "marchandise", "marchandises", "goederen", "mercancia", "mercancía"),
    "good": ("gut", "gutem", "guter", "bon", "bonne", "goed", "goede", "buen", "buena", "buenas"),
    "condition": ("zustand", "etat", "état", "staat", "estado", "condiciones"),
    "express": ("eil", "express", "urgent", "spoed", "urgente"),
    "standard": ("normal", "standaard", "estandar", "estándar"),
}

#: English words that name a number field when they end a field name ("delivery_no")
NUMBER_SUFFIXES = frozenset({"number", "no", "nr", "num", "id", "ref"})

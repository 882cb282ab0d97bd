"""The e-invoice reader: a document's invoice XML (and its pages) in, an ``EngineOutput`` out.

It acts at the seam where an engine would. The pipeline validates and grounds its output once,
as for any engine. Its values are exact and typed, marked ``source="xml"`` with confidence 1.
Its key fields are expected on the page (grounding warns ``xml_not_on_page`` for each one it
cannot find). In ``both`` mode the layout engine reads the same pages and the cross-check
compares the two readings. XML that cannot be used gives no output, only a warning, so the
pipeline reads the page instead.

Warnings: ``xml_unreadable`` (malformed, unsafe, too large, not an invoice: the page is read
instead), ``xml_invalid`` (fails its profile's XSD; the values are still used),
``xml_page_mismatch`` (from the cross-check), ``xml_not_checked`` (the layout engine failed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from docvlm.datamodel import EmbeddedXml, EngineOutput, Page, RecordWarning
from docvlm.engines.base import BaseEngine
from docvlm.errors import EinvoiceError
from docvlm.paths import get_path, iter_leaves

if TYPE_CHECKING:
    from docvlm.evidence import PageIndex

_log = logging.getLogger(__name__)

NOT_ON_PAGE = "xml_not_on_page"


class EinvoiceOptions(BaseModel):
    """How documents that carry invoice XML are read (``--einvoice``)."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["both", "xml", "visual"] = Field(
        default="both",
        description="both: data from the XML, checked against the page; xml: the XML only; "
        "visual: ignore the XML and read the page (a bare XML file is always read)",
    )
    check_xsd: bool = Field(default=True, description="validate the XML against its profile's XSD")
    mismatch_confidence: float = Field(
        default=0.8, ge=0.0, le=1.0, description="page readings this confident that disagree are reported"
    )


@dataclass
class EinvoiceResult:
    """The reader's output; ``output`` is None when the XML cannot be used and the page must be read."""

    output: EngineOutput | None
    info: dict[str, Any] | None = None  # syntax, profile, type code, attachment, XSD outcome
    warnings: list[RecordWarning] = field(default_factory=list)


class EinvoiceReader:
    """Reads invoice XML into the Invoice shape and checks it against a layout reading of the page."""

    name = "einvoice"

    def __init__(
        self, options: EinvoiceOptions | None = None, layout: Callable[[], BaseEngine] | None = None
    ):
        self.options = options or EinvoiceOptions()
        self._layout_factory = layout
        self._layout: BaseEngine | None = None

    def wants(self, xml: EmbeddedXml | None, pages: Sequence[Page]) -> bool:
        """Should this document's data come from its XML? (Not in ``visual`` mode, unless it has no page.)"""
        return xml is not None and (self.options.mode != "visual" or not pages)

    def read(
        self,
        xml: EmbeddedXml,
        pages: Sequence[Page],
        schema: type[BaseModel],
        index: PageIndex | None = None,
    ) -> EinvoiceResult:
        """Read ``xml`` (with the document's ``pages``, possibly none) into an ``EngineOutput``.

        ``index``: the pages' ``PageIndex``, for the cross-check to search (and its caller to keep).
        """
        if xml.data is None:
            return _unusable(xml, xml.error or "not read", bool(pages))
        # imported with the first XML: the options alone (the CLI's parent process) need none of this
        from docvlm.einvoice.crosscheck import KEY_FIELDS
        from docvlm.einvoice.mapping import read_invoice
        from docvlm.einvoice.safe_xml import parse_xml
        from docvlm.einvoice.xsd import check_xsd

        try:
            root = parse_xml(xml.data, xml.name)
            inv = read_invoice(root)
        except EinvoiceError as e:
            return _unusable(xml, str(e), bool(pages))
        info: dict[str, Any] = {
            "syntax": inv.syntax,
            "profile": inv.profile,
            "type_code": inv.type_code,
            "attachment": xml.name,
        }
        warnings: list[RecordWarning] = []
        if self.options.check_xsd:
            result = check_xsd(root, inv.syntax, inv.profile)
            info["xsd"] = result.schema
            info["xsd_valid"] = result.valid
            if result.valid is False:
                warnings.append(
                    RecordWarning("xml_invalid", f"{xml.name} fails {result.schema}: {result.message}")
                )
        out = EngineOutput(
            data=inv.data,
            confidence={path: 1.0 for path, _ in iter_leaves(inv.data)},
            warnings=warnings,
            document_type=inv.document_type,
            source="xml",
        )
        if pages:
            out.expect_on_page = {p: NOT_ON_PAGE for p in KEY_FIELDS if get_path(inv.data, p) is not None}
            if self.options.mode == "both":
                self._check(out, pages, schema, index)
        return EinvoiceResult(out, info)

    def _check(
        self, out: EngineOutput, pages: Sequence[Page], schema: type[BaseModel], index: PageIndex | None
    ) -> None:
        """The cross-check: the layout engine reads the same pages, and the two readings are compared."""
        try:
            page = self._layout_engine().extract(pages, schema)
        except Exception as e:  # a layout failure costs the check, never the XML's data
            _log.warning("layout engine failed during the e-invoice cross-check: %s", e)
            out.warnings.append(RecordWarning("xml_not_checked", f"the page could not be read: {e}"))
            return
        from docvlm.einvoice.crosscheck import cross_check

        check = cross_check(out.data, page, pages, self.options.mismatch_confidence, index)
        out.evidence.update(check.evidence)
        out.warnings.extend(check.warnings)

    def _layout_engine(self) -> BaseEngine:
        if self._layout is None:
            if self._layout_factory is not None:
                self._layout = self._layout_factory()
            else:
                from docvlm.engines import LayoutOptions, create_engine

                self._layout = create_engine(LayoutOptions())
        return self._layout


def _unusable(xml: EmbeddedXml, reason: str, has_pages: bool) -> EinvoiceResult:
    what = "the page is read instead" if has_pages else "the file has no page to read instead"
    _log.info("%s: %s; %s", xml.name, reason, what)
    return EinvoiceResult(None, None, [RecordWarning("xml_unreadable", f"{reason}; {what}")])

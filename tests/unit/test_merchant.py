"""A receipt's merchant name and address (``merchant.extract_merchant``): where the address starts and ends."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from docvlm.engines.layout.candidates.base import HeaderResult
from docvlm.engines.layout.merchant import extract_merchant
from docvlm.engines.layout.text import page_lines
from tests.helpers.pages import make_page


def _merchant(lines: Sequence[str]) -> tuple[str | None, str | None]:
    """Name and address read off a receipt whose top lines are ``lines`` (12 pt apart), then a body."""
    body = ["CASHIER: 01", "ITEM A   2.00", "ITEM B   3.00", "TOTAL   5.00", "CASH   10.00", "CHANGE   5.00"]
    page = make_page([(40, 40 + 12 * i, t) for i, t in enumerate([*lines, *body])], width=260, height=400)
    res = HeaderResult()
    extract_merchant([page_lines(page)], res)
    return res.values.get("vendor.name"), res.values.get("vendor.address")


def test_a_phone_line_ends_the_address() -> None:
    name, addr = _merchant(
        [
            "KEDAI RUNCIT SDN BHD",
            "NO. 5, JALAN MAWAR 3,",
            "12300 BANDAR BARU",
            "MOBILE / WHATSAPP : +6012-345 6789",
        ]
    )
    assert name == "KEDAI RUNCIT SDN BHD"
    assert addr == "NO. 5, JALAN MAWAR 3, 12300 BANDAR BARU"


@pytest.mark.parametrize("label", ["TEL NO.: 03-555 1234", "TELEPHONE: 03-5551234", "FAX 03-5551235"])
def test_a_phone_label_inside_the_last_line_cuts_it(label: str) -> None:
    _, addr = _merchant(["ROTI MANIS SDN BHD", "NO.1, JALAN BUNGA 10/5,", f"45600 KOTA LAMA, JOHOR, {label}"])
    assert addr == "NO.1, JALAN BUNGA 10/5, 45600 KOTA LAMA, JOHOR"


def test_a_keyed_number_line_ends_the_address() -> None:
    _, addr = _merchant(["PETROL SDN BHD", "LOT 24, JALAN DUA", "11200 KAMPUNG BARU, KL", "SITE: 4711"])
    assert addr == "LOT 24, JALAN DUA 11200 KAMPUNG BARU, KL"


def test_the_country_is_the_last_line_of_the_address() -> None:
    _, addr = _merchant(
        ["MAKAN ENTERPRISE", "NO 8, JALAN 9/3C,", "33000 KOTA TINGGI, MALAYSIA", "SUNRISE SHOPPING CENTRE"]
    )
    assert addr == "NO 8, JALAN 9/3C, 33000 KOTA TINGGI, MALAYSIA"


@pytest.mark.parametrize(
    "reg", ["BR NO.: (765432-H)", "COMPANY NO(222333-X)", "(909090-W)", "CO REG NO: 123456-X"]
)
def test_a_registration_line_under_the_name_is_not_the_address(reg: str) -> None:
    name, addr = _merchant(["KEDAI BUKU SDN BHD", reg, "NO 19-G, JALAN DANAU 4,", "MEDAN NIAGA DANAU"])
    assert name == "KEDAI BUKU SDN BHD"
    assert addr == "NO 19-G, JALAN DANAU 4, MEDAN NIAGA DANAU"


def test_a_registration_number_after_the_name_is_not_part_of_it() -> None:
    name, addr = _merchant(["BAKERY HOUSE SDN BHD 445566-U", "NO.1, JALAN CEMPAKA 2/8,", "45600 KOTA LAMA"])
    assert name == "BAKERY HOUSE SDN BHD"
    assert addr == "NO.1, JALAN CEMPAKA 2/8, 45600 KOTA LAMA"
    name, _ = _merchant(["URBAN FOODS SDN BHD (135790-M),", "C-2-11, PLAZA MAJU,", "22100 KUALA BESUT"])
    assert name == "URBAN FOODS SDN BHD"


def test_a_unit_number_or_a_house_number_with_few_letters_opens_the_address() -> None:
    _, addr = _merchant(["URBAN FOODS SDN BHD", "C-2-11, PLAZA MAJU,", "22100 KUALA BESUT"])
    assert addr == "C-2-11, PLAZA MAJU, 22100 KUALA BESUT"
    _, addr = _merchant(["PASAR MAJU SDN BHD", "NO 3, 5 & 7,", "JALAN PUSAT 4,", "34500 SUNGAI ULU"])
    assert addr == "NO 3, 5 & 7, JALAN PUSAT 4, 34500 SUNGAI ULU"


def test_an_aside_in_brackets_does_not_open_the_address() -> None:
    _, addr = _merchant(
        ["KEDAI BESI SDN BHD", "(JALAN LAMA BRANCH)", "LOT 29, JLN SERI 8,", "70400 SEREMBAN TIMUR"]
    )
    assert addr == "LOT 29, JLN SERI 8, 70400 SEREMBAN TIMUR"


def test_a_legal_form_set_under_the_name_joins_it() -> None:
    name, _ = _merchant(["PASARAYA BORONG MURAH", "SDN BHD", "NO 19, JALAN DANAU 4,", "12300 BANDAR BARU"])
    assert name == "PASARAYA BORONG MURAH SDN BHD"
    name, _ = _merchant(
        ["PASAR RAYA MAJU", "(SUNGAI ULU) SDN BHD", "NO 24, JALAN PUSAT 4,", "34500 SUNGAI ULU"]
    )
    assert name == "PASAR RAYA MAJU (SUNGAI ULU) SDN BHD"


def test_legal_form_words_alone_under_the_name_join_it() -> None:
    name, _ = _merchant(["GOLDEN PAGES", "CO. (M) SDN BHD", "NO 19, JALAN DANAU 4,", "12300 BANDAR BARU"])
    assert name == "GOLDEN PAGES CO. (M) SDN BHD"


def test_a_courtesy_line_is_not_the_name_and_a_till_number_is_not_part_of_it() -> None:
    name, _ = _merchant(
        ["THANK YOU FOR SHOPPING WITH US", "KEDAI MAJU", "NO 19, JALAN DANAU 4,", "12300 BANDAR BARU"]
    )
    assert name == "KEDAI MAJU"
    name, _ = _merchant(["#000017 KEDAI MAJU SDN BHD", "NO 19, JALAN DANAU 4,", "12300 BANDAR BARU"])
    assert name == "KEDAI MAJU SDN BHD"

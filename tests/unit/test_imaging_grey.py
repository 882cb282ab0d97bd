"""OCR reads pages in greyscale: the conversions, the PNG decode straight to grey, and ingest's use of them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from docvlm.errors import IngestError
from docvlm.imaging import background, decode_png_grey, png_decodes_grey, to_grey
from docvlm.ingest import IngestOptions, _load_frame, open_document
from docvlm.ocr import OcrOptions, get_ocr, ocr_page

NO_OCR = OcrOptions(backend="none")


@pytest.fixture(scope="module")
def font() -> ImageFont.FreeTypeFont:
    from matplotlib import font_manager

    return ImageFont.truetype(font_manager.findfont("DejaVu Sans", fallback_to_default=True), 30)


def colour_page(font: ImageFont.FreeTypeFont, size: tuple[int, int] = (640, 220)) -> Image.Image:
    """Dark text on white, a coloured band and red text: luminance is all OCR keeps of them."""
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, size[0], 40), fill=(30, 60, 160))
    d.text((20, 4), "HEADER", fill="white", font=font)
    d.text((20, 70), "INVOICE 7781", fill=(20, 20, 20), font=font)
    d.text((20, 140), "AMOUNT DUE 19.99", fill=(200, 0, 0), font=font)
    return img


def test_to_grey_follows_the_rules_of_to_rgb() -> None:
    rgb = Image.new("RGB", (4, 3), (10, 200, 30))
    assert np.array_equal(np.asarray(to_grey(rgb)), np.asarray(rgb.convert("L")))
    grey = Image.new("L", (4, 3), 77)
    assert to_grey(grey) is grey
    # transparent areas are white paper, not black
    rgba = Image.new("RGBA", (4, 3), (0, 0, 0, 0))
    assert to_grey(rgba).mode == "L" and set(np.asarray(to_grey(rgba)).ravel()) == {255}
    # 16-bit images are stretched to the full 8-bit range
    deep = Image.fromarray(np.array([[1000, 2000], [3000, 1000]], dtype=np.uint16))
    assert deep.mode.startswith("I;16")
    assert sorted(set(np.asarray(to_grey(deep)).ravel().tolist())) == [0, 127, 255]


def test_png_decodes_straight_to_the_grey_pil_gives(tmp_path: Path, font: ImageFont.FreeTypeFont) -> None:
    img = colour_page(font)
    path = tmp_path / "page.png"
    img.save(path)
    want = np.asarray(img.convert("L"), dtype=np.int16)
    for source in (path, path.read_bytes()):
        got = decode_png_grey(source)
        assert got.mode == "L" and got.size == img.size
        # libpng's and PIL's luma weights differ in their last digits
        assert np.abs(np.asarray(got, dtype=np.int16) - want).max() <= 1
    with pytest.raises(ValueError, match="could not decode"):
        decode_png_grey(path.read_bytes()[:60])


def test_only_plain_pngs_take_the_grey_decode(tmp_path: Path) -> None:
    def opened(img: Image.Image, name: str, **save: object) -> Image.Image:
        img.save(tmp_path / name, **save)
        return Image.open(tmp_path / name)

    assert png_decodes_grey(opened(Image.new("RGB", (8, 8)), "rgb.png"))
    assert png_decodes_grey(opened(Image.new("L", (8, 8)), "l.png"))
    assert not png_decodes_grey(opened(Image.new("RGBA", (8, 8)), "rgba.png"))
    assert not png_decodes_grey(opened(Image.new("L", (8, 8)), "t.png", transparency=0))
    assert not png_decodes_grey(opened(Image.new("RGB", (8, 8)), "rgb.jpg"))
    exif = Image.Exif()
    exif[0x0112] = 6  # turned: PIL's EXIF handling applies, so PIL decodes it
    assert not png_decodes_grey(opened(Image.new("RGB", (8, 8)), "turned.png", exif=exif))


def test_background_reads_the_border_in_any_mode() -> None:
    img = Image.new("RGB", (50, 40), (200, 190, 180))
    img.paste((0, 0, 0), (10, 10, 40, 30))  # ink inside does not count
    assert background(img) == (200, 190, 180)
    assert background(img.convert("L")) == (img.convert("L").getpixel((0, 0)),) * 3


@pytest.mark.parametrize("name", ["page.png", "page.jpg", "page.tiff", "page.webp"])
def test_ocr_frames_decode_grey_and_renders_stay_rgb(
    tmp_path: Path, font: ImageFont.FreeTypeFont, name: str
) -> None:
    img = colour_page(font)
    path = tmp_path / name
    img.save(path, **({"quality": 95} if name.endswith(".jpg") else {}))
    frame = _load_frame(path, 0, IngestOptions(), grey=True)
    assert frame.mode == "L" and frame.size == img.size
    # the same luminance whichever decoder produced it (JPEG: libjpeg's own grey output)
    ref = np.asarray(_load_frame(path, 0, IngestOptions()).convert("L"), dtype=np.int16)
    assert np.abs(np.asarray(frame, dtype=np.int16) - ref).mean() < 1.0
    page = next(open_document(path, ocr=NO_OCR).pages())
    assert page.image(72).mode == "RGB"


def test_grey_decode_keeps_the_pixel_limit_and_error_records(tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    Image.new("RGB", (1200, 1000), "white").save(big)
    with pytest.raises(IngestError, match="megapixels"):
        list(open_document(big, IngestOptions(max_megapixels=1.0), NO_OCR).pages())
    cut = tmp_path / "cut.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (300, 300, 3), dtype=np.uint8)).save(cut)
    cut.write_bytes(cut.read_bytes()[:2000])
    with pytest.raises(IngestError, match=r"corrupt or (truncated|unreadable) image"):
        list(open_document(cut, ocr=NO_OCR).pages())


def test_rapidocr_reads_a_grey_page_as_its_rgb_copy(font: ImageFont.FreeTypeFont) -> None:
    grey = colour_page(font).convert("L")
    backend = get_ocr(OcrOptions())
    got = backend.recognize(grey)
    want = backend.recognize(grey.convert("RGB"))
    assert [w.text for w in got] == [w.text for w in want]
    assert [w.bbox for w in got] == [w.bbox for w in want]
    assert "7781" in [w.text for w in got]


def test_ocr_page_reads_colour_pages_in_grey(font: ImageFont.FreeTypeFont) -> None:
    img = colour_page(font)
    res = ocr_page(img, OcrOptions(deskew=False, auto_rotate=False))
    assert res.image.mode == "L" and res.size == img.size
    texts = [w.text for w in res.words]
    assert texts[-5:] == ["INVOICE", "7781", "AMOUNT", "DUE", "19.99"]

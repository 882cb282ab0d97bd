"""Image operations shared by ingest and OCR: colour modes, downscaled copies, deskew, upright turns.

In: PIL images. Out: PIL images (8-bit RGB or greyscale where a mode is produced), plus the factor a resize
applied. Nothing here knows about text; OCR and ingest both build on these helpers.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

_HIGH_BIT_MODES = frozenset({"I;16", "I;16B", "I;16L", "I", "F"})
# ``resample`` shrinks big images this many output pixels at a time: PIL resizes in two passes, and
# the first pass's whole-image intermediate was 100 MB of a 600 dpi A4 page at 0.73
RESAMPLE_BAND_PIXELS = 2_000_000
# ``deskew`` writes the turned image this many output pixels at a time (one band's array at a time)
DESKEW_BAND_PIXELS = 2_000_000
# ``downscale`` first reduces by whole factors while the copy stays this many times the target size
# (PIL's ``reducing_gap``): a 600 dpi A4 page to 1024 px took 0.22 CPU s, 0.10 s this way
DOWNSCALE_REDUCING_GAP = 3.0


def _stretch_to_l(image: Image.Image) -> Image.Image:
    """A 16-bit or float image stretched to 8-bit greyscale 0..255."""
    import numpy as np

    a = np.asarray(image, dtype=np.float64)
    lo, hi = float(a.min()), float(a.max())
    scaled = (a - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(a)
    return Image.fromarray(scaled.astype(np.uint8), "L")


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info)


def _on_white(image: Image.Image) -> Image.Image:
    """A transparent image composited on white paper (transparent areas would otherwise be black)."""
    rgba = image.convert("RGBA")
    bg = Image.new("RGB", rgba.size, (255, 255, 255))
    bg.paste(rgba, mask=rgba.getchannel("A"))
    return bg


def to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL mode to 8-bit RGB; 16-bit and float images are stretched to 0..255."""
    if image.mode == "RGB":
        return image
    if image.mode in _HIGH_BIT_MODES:
        return _stretch_to_l(image).convert("RGB")
    if _has_alpha(image):
        return _on_white(image)
    return image.convert("RGB")


def to_grey(image: Image.Image) -> Image.Image:
    """Any PIL mode to 8-bit greyscale ("L", ITU-R 601 luma); the rules of ``to_rgb`` otherwise.

    OCR reads luminance: a 600 dpi A4 page is 35 MB in "L" against 139 MB in RGB (PIL keeps RGB
    in four bytes a pixel), and every pass over its pixels is a third of the work.
    """
    if image.mode == "L":
        return image
    if image.mode in _HIGH_BIT_MODES:
        return _stretch_to_l(image)
    if _has_alpha(image):
        return _on_white(image).convert("L")
    return image.convert("L")


def downscale(image: Image.Image, side: int) -> tuple[Image.Image, float]:
    """A copy whose long side is at most ``side``, and the factor applied (the image itself and 1.0
    when it is already small enough)."""
    f = min(1.0, side / max(image.size))
    if f >= 1.0:
        return image, 1.0
    return image.resize(
        (max(1, round(image.width * f)), max(1, round(image.height * f))),
        Image.Resampling.BILINEAR,
        reducing_gap=DOWNSCALE_REDUCING_GAP,
    ), f


def resample(image: Image.Image, factor: float) -> Image.Image:
    """A copy scaled by ``factor`` (below 1 shrinks), each side rounded and at least 1 px.

    Shrinking averages the source pixels under each target pixel (PIL's ``BOX`` filter): thin
    strokes of text fade instead of vanishing, as they would under point sampling.
    """
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    if size == image.size:
        return image
    rows = max(1, RESAMPLE_BAND_PIXELS // size[0])
    if rows >= size[1]:
        return image.resize(size, Image.Resampling.BOX)
    # in bands of output rows, each from its own rows of the source: the intermediate is a band's
    out = Image.new(image.mode, size)
    sy = image.height / size[1]
    for top in range(0, size[1], rows):
        bottom = min(size[1], top + rows)
        box = (0.0, top * sy, float(image.width), bottom * sy)
        out.paste(image.resize((size[0], bottom - top), Image.Resampling.BOX, box=box), (0, top))
    return out


def background(image: Image.Image) -> tuple[int, int, int]:
    """Median colour of the image border: the paper colour to fill in after a rotation."""
    import numpy as np

    w, h = image.size
    # only the four edges are read (and converted): a whole-page RGB copy was 139 MB at 600 dpi A4
    edges = [image.crop(b) for b in ((0, 0, w, 1), (0, h - 1, w, h), (0, 0, 1, h), (w - 1, 0, w, h))]
    border = np.concatenate([np.asarray(e.convert("RGB")).reshape(-1, 3) for e in edges])
    med = np.median(border, axis=0)
    return (int(med[0]), int(med[1]), int(med[2]))


def deskew(image: Image.Image, angle: float) -> Image.Image:
    """Rotate by ``angle`` degrees counter-clockwise about the centre, same size, paper-coloured corners.

    RGB and greyscale images are turned by OpenCV (bicubic), in bands of output rows: PIL's
    ``rotate`` took 0.30 CPU s on a 1000 x 2500 receipt, OpenCV 0.07 s, and a band at a time
    holds one band's array besides the page. Other modes go through PIL's ``rotate``.
    """
    if angle == 0:
        return image
    fill = background(image)
    if image.mode not in ("RGB", "L"):
        return image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=fill)
    import cv2
    import numpy as np

    w, h = image.size
    src = np.asarray(image)
    # pixel centres: PIL's centre (w/2, h/2) of the pixel grid is ((w-1)/2, (h-1)/2) in OpenCV's
    m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, 1.0)
    border = fill if image.mode == "RGB" else fill[0]
    out = Image.new(image.mode, image.size)
    rows = max(1, DESKEW_BAND_PIXELS // max(1, w))
    for top in range(0, h, rows):
        band_h = min(rows, h - top)
        mb = m.copy()
        mb[1, 2] -= top  # the band's rows are output rows top..top+band_h
        band = cv2.warpAffine(
            src, mb, (w, band_h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT, borderValue=border
        )
        out.paste(Image.fromarray(band, image.mode), (0, top))
    return out


def upright(image: Image.Image, rotation: int, skew: float) -> Image.Image:
    """Apply a skew correction then a quarter turn, as OCR did (for re-rendering a page)."""
    img = deskew(image, skew) if skew else image
    return img.rotate(rotation, expand=True) if rotation % 360 else img


def png_decodes_grey(image: Image.Image) -> bool:
    """Whether ``decode_png_grey`` reads this opened (not yet loaded) image as PIL would, in grey.

    8-bit RGB or greyscale PNGs without transparency or EXIF (whose turn PIL would apply).
    """
    return (
        image.format == "PNG"
        and image.mode in ("RGB", "L")
        and "exif" not in image.info
        and "transparency" not in image.info
    )


def decode_png_grey(source: Path | bytes) -> Image.Image:
    """Decode a PNG file (or its bytes) straight to 8-bit greyscale ("L") with OpenCV.

    libpng converts each row as it is read, so a 600 dpi A4 page peaks at its 35 MB of grey
    (measured: 73 MB above the process for a 4961x7016 page) where PIL's RGB decode holds 139 MB
    and a conversion to grey another 35. Check the size first: this has no pixel limit of ours.
    """
    import cv2
    import numpy as np

    buf = np.frombuffer(source, np.uint8) if isinstance(source, bytes) else np.fromfile(source, np.uint8)
    pixels = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE | cv2.IMREAD_IGNORE_ORIENTATION)
    if pixels is None:
        raise ValueError("OpenCV could not decode the PNG")
    return Image.fromarray(pixels, "L")

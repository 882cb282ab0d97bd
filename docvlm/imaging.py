"""Image operations shared by ingest and OCR: colour modes, downscaled copies, deskew, upright turns.

In: PIL images. Out: PIL images (8-bit RGB where a mode is produced), plus the factor a resize
applied. Nothing here knows about text; OCR and ingest both build on these helpers.
"""

from __future__ import annotations

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


def to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL mode to 8-bit RGB; 16-bit and float images are stretched to 0..255."""
    if image.mode == "RGB":
        return image
    if image.mode in _HIGH_BIT_MODES:
        import numpy as np

        a = np.asarray(image, dtype=np.float64)
        lo, hi = float(a.min()), float(a.max())
        scaled = (a - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(a)
        return Image.fromarray(scaled.astype(np.uint8), "L").convert("RGB")
    if image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info):
        # transparent areas become white paper instead of black
        rgba = image.convert("RGBA")
        bg = Image.new("RGB", rgba.size, (255, 255, 255))
        bg.paste(rgba, mask=rgba.getchannel("A"))
        return bg
    return image.convert("RGB")


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

    a = np.asarray(image.convert("RGB"))
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
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

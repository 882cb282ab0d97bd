"""An int8 copy of RapidOCR's text detector: built from the float model RapidOCR installs, shipped, checked.

In (build): the float detector of the installed rapidocr and page images to calibrate on. Out: a
folder with ``detector_int8.onnx`` (static int8 quantisation: QLinearConv with uint8 activations and
per-channel int8 weights, activation ranges from the calibration pages) and ``manifest.json``
(the float model's file name and sha256, the rapidocr and onnxruntime versions, the settings and
the number of calibration inputs). ``docvlm quantize-ocr IMAGES... -o docvlm/ocr/models`` rebuilds
the copy the package ships; building needs the ``onnx`` package, running it only onnxruntime.

In (run): ``int8_detector(float_model)`` gives the shipped copy only when it was built from that
very float model (same sha256), else None, and the backend keeps the float model.

Why: the detector is half of a receipt's OCR time on one thread (0.71 s of 1.46 s on the shared
SROIE receipts), and its int8 copy runs 3.3-3.7x faster on a 736 x 928 input here (AVX-512 VNNI).
It is opt-in (``OcrOptions.detector``): its text map scores lone narrow glyphs (a "1" alone in a
quantity column) lower, and scans agreed with their text layer less often (README, "How scans
are read"). The recogniser stays in float: its int8 copy was only 1.4x faster, and it decides
the characters.
"""

from __future__ import annotations

import json
import logging
import platform
import random
import tempfile
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from docvlm.errors import OcrError
from docvlm.sources import hash_file

_log = logging.getLogger(__name__)

MODEL_DIR = Path(__file__).parent / "models"
DETECTOR = "detector_int8.onnx"
MANIFEST = "manifest.json"
#: detector inputs kept for calibration at most (each is one strip of a page, a few MB of float32)
MAX_CALIBRATION_INPUTS = 64


@cache
def _float_sha(path: str) -> str:
    return hash_file(Path(path))[0]


def int8_detector(float_model: str | Path, folder: str | Path | None = None) -> Path | None:
    """The int8 detector in ``folder`` (default ``MODEL_DIR``) when its manifest says it was built from
    ``float_model``; else None."""
    folder = Path(folder) if folder is not None else MODEL_DIR
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        source = manifest["source"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    model = folder / DETECTOR
    if not model.is_file() or source.get("sha256") != _float_sha(str(float_model)):
        return None
    return model


def _calibration_reader(inputs: list[np.ndarray]) -> Any:
    from onnxruntime.quantization import CalibrationDataReader

    class _Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self._it: Iterator[np.ndarray] = iter(inputs)

        def get_next(self) -> dict[str, np.ndarray] | None:
            x = next(self._it, None)
            return None if x is None else {"x": x}

    return _Reader()


def detector_inputs(images: Sequence[Path], limit: int = MAX_CALIBRATION_INPUTS) -> list[np.ndarray]:
    """The float detector's own inputs on ``images``, read as the pipeline reads a scan (``ocr_page``:
    deskew, resampling to the text's height, the detector's strips), at most ``limit`` of them."""
    from docvlm.ocr.base import OcrOptions
    from docvlm.ocr.factory import get_ocr
    from docvlm.ocr.page import ocr_page
    from docvlm.ocr.rapidocr_backend import RapidOcrBackend

    options = OcrOptions(detector="float", threads=1)
    backend = get_ocr(options)
    if not isinstance(backend, RapidOcrBackend):
        raise OcrError("the int8 detector is RapidOCR's; its backend did not load")
    seen: list[np.ndarray] = []

    def keep(x: np.ndarray) -> None:
        if len(seen) < limit:
            seen.append(x.copy())

    backend.det_input_hook = keep
    try:
        for path in images:
            try:
                with Image.open(path) as im:
                    page = im.convert("L")
            except (OSError, ValueError, Image.DecompressionBombError) as e:
                raise OcrError(f"cannot read the calibration image {path}: {e}") from e
            ocr_page(page, options)
            if len(seen) >= limit:
                break
    finally:
        backend.det_input_hook = None
    return seen


def _head_nodes(model_path: Path) -> list[str]:
    """The nodes kept in float: the detector's head, its last convolution and the transposed convolutions
    after it, which draw the text probability map (where a lone narrow glyph scores near the box threshold)."""
    import onnx

    nodes = onnx.load(str(model_path)).graph.node
    convs = [n.name for n in nodes if n.op_type == "Conv"]
    return [n.name for n in nodes if n.op_type == "ConvTranspose"] + convs[-1:]


def build_int8_detector(images: Sequence[str | Path], out: str | Path) -> dict[str, Any]:
    """Quantise the installed float detector, calibrated on ``images``; write it and its manifest to ``out``.

    Static int8 in onnxruntime's QOperator format (QLinearConv), per-channel weights, activation
    ranges from the moving average of each calibration input's min and max, the head in float.
    Tried and left: QDQ (its fused model failed to load), entropy and percentile calibration (out
    of memory at 24 GB on 64 inputs). Global min/max ranges, a float stem and other sets of
    calibration pages moved the scan agreement by up to 4 line items of 64 either way: the copy
    shipped is the one the README's command builds, not the best of them on the evaluation pages.
    """
    try:
        import onnxruntime
        from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError as e:  # onnx is a build-time need only
        raise OcrError(
            f"building the int8 detector needs the onnx package (pip install 'docvlm[quantize]'): {e}"
        ) from e
    # the inputs kept (``MAX_CALIBRATION_INPUTS``) come from all the folders given, in an order fixed by the set
    paths = sorted(Path(p) for p in images)
    if not paths:
        raise OcrError("no calibration images given")
    random.Random(0).shuffle(paths)
    float_model = float_detector_path()
    inputs = detector_inputs(paths)
    if not inputs:
        raise OcrError("the calibration images gave the detector no input")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(float_model), str(prepared), skip_symbolic_shape=True)
        kept_float = _head_nodes(prepared)
        quantize_static(
            str(prepared),
            str(out / DETECTOR),
            _calibration_reader(inputs),
            quant_format=QuantFormat.QOperator,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            nodes_to_exclude=kept_float,
            calibrate_method=CalibrationMethod.MinMax,
            extra_options={"CalibMovingAverage": True},
        )
    from importlib.metadata import version

    manifest = {
        "source": {"file": float_model.name, "sha256": hash_file(float_model)[0]},
        "rapidocr": version("rapidocr"),
        "onnxruntime": onnxruntime.__version__,
        "machine": platform.machine(),
        "settings": {
            "format": "QOperator",
            "activations": "QUInt8",
            "weights": "QInt8 per channel",
            "calibration": "MinMax, moving average",
            "float_nodes": kept_float,
        },
        "calibration": {"images": len(paths), "inputs": len(inputs)},
        "sha256": hash_file(out / DETECTOR)[0],
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    _log.info("int8 detector written to %s (%d calibration inputs)", out, len(inputs))
    return manifest


def float_detector_path() -> Path:
    """The float text detector that RapidOCR loads with this package's settings."""
    from docvlm.ocr.rapidocr_backend import RapidOcrBackend

    return RapidOcrBackend.float_detector()

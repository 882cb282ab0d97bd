"""The numpy reader of LightGBM text models gives LightGBM's own predictions, without importing it."""

from __future__ import annotations

import subprocess
import sys

import lightgbm as lgb
import numpy as np
import pytest

from docvlm.engines.layout.gbdt import TextModel
from docvlm.engines.layout.ranker import DEFAULT_MODEL_DIR


def _data(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.normal(size=(n, 6))
    x[:, 0] = rng.integers(-2, 40, n)  # a categorical column (negatives never seen in training)
    x[:, 5] = np.where(rng.random(n) < 0.3, 0.0, x[:, 5])  # many exact zeros
    x[rng.random(x.shape) < 0.12] = np.nan
    return x


@pytest.mark.parametrize("objective", ["binary", "regression"])
@pytest.mark.parametrize("zero_as_missing", [False, True])
@pytest.mark.parametrize("categorical", [True, False])
def test_predictions_match_lightgbm(objective: str, zero_as_missing: bool, categorical: bool) -> None:
    rng = np.random.default_rng(7)
    x = _data(rng, 3000)
    x[:, 0] = np.abs(x[:, 0])
    y = ((np.nan_to_num(x[:, 0]) % 3 == 0) ^ (np.nan_to_num(x[:, 1]) > -0.4)).astype(float)
    params = {
        "objective": objective,
        "verbose": -1,
        "num_leaves": 31,
        "zero_as_missing": zero_as_missing,
        "min_data_per_group": 5,
        "cat_smooth": 1,
    }
    data = lgb.Dataset(x, y, categorical_feature=[0] if categorical else [])
    booster = lgb.train(params, data, num_boost_round=40)
    text = booster.model_to_string()
    assert ("\ncat_boundaries=" in text) == categorical  # the case under test is really there
    model = TextModel(text)
    test = _data(rng, 2000)
    np.testing.assert_allclose(model.predict(test), booster.predict(test), rtol=0, atol=1e-12)
    assert model.predict(test[:0]).shape == (0,)


def test_the_package_models_match_lightgbm() -> None:
    rng = np.random.default_rng(3)
    files = sorted(DEFAULT_MODEL_DIR.glob("header_*.txt"))
    assert files
    for path in files:
        model = TextModel.load(path)
        x = rng.normal(scale=3, size=(300, model.num_features))
        x[rng.random(x.shape) < 0.2] = 0.0
        x[rng.random(x.shape) < 0.1] = np.nan
        expected = lgb.Booster(model_file=str(path)).predict(x)
        np.testing.assert_allclose(model.predict(x), expected, rtol=0, atol=1e-12, err_msg=path.name)


def test_a_constant_model_and_bad_inputs() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 3))
    booster = lgb.train({"objective": "regression", "verbose": -1}, lgb.Dataset(x, np.ones(50)), 3)
    model = TextModel(booster.model_to_string())
    np.testing.assert_allclose(model.predict(x), booster.predict(x))  # trees of one leaf
    with pytest.raises(ValueError, match="expected rows of 3 features"):
        model.predict(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="not a LightGBM text model"):
        TextModel("hello=1\n")
    forest = booster.model_to_string().replace("\ntree_sizes=", "\naverage_output\ntree_sizes=", 1)
    with pytest.raises(ValueError, match="random-forest"):
        TextModel(forest)


@pytest.mark.parametrize("objective", ["multiclass", "multiclassova"])
def test_multiclass_predictions_match_lightgbm(objective: str) -> None:
    rng = np.random.default_rng(5)
    x = _data(rng, 2000)
    y = (np.nan_to_num(x[:, 1]) > 0).astype(int) + (np.nan_to_num(x[:, 2]) > 0.5).astype(int)
    params = {"objective": objective, "num_class": 3, "verbose": -1, "num_leaves": 15}
    booster = lgb.train(params, lgb.Dataset(x, y.astype(float)), num_boost_round=25)
    model = TextModel(booster.model_to_string())
    assert model.num_class == 3
    test = _data(rng, 500)
    ours = model.predict(test)
    assert ours.shape == (500, 3)
    np.testing.assert_allclose(ours, booster.predict(test), rtol=0, atol=1e-12)
    assert model.predict(test[:0]).shape == (0, 3)


def test_extracting_never_imports_lightgbm(tmp_path) -> None:
    code = (
        "import sys\n"
        "from docvlm.pipeline import Pipeline, PipelineOptions\n"
        "from docvlm.runner import LimitOptions\n"
        "pipe = Pipeline(PipelineOptions(limits=LimitOptions(doc_timeout_s=0, max_worker_mb=0)))\n"
        "rec = pipe.extract('samples/invoice_us_cedar_ridge.pdf').to_record()\n"
        "assert rec['status'] == 'ok', rec\n"
        "assert pipe.engine.model is not None\n"
        "print('lightgbm' in sys.modules, 'pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"], out.stdout + out.stderr

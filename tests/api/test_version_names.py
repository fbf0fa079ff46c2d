"""One version grammar for the folder scan, the request schema, ``MODEL_VERSIONS`` and the metrics
(``model_contract.versions``), with the real committed model under other folder names."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.api.conftest import metric_samples, sample
from tests.api.model_dirs import FAST, TEXT, put_version, states

EPOCH = "1700000000"  # a timestamp-named folder (10 digits; 13 for milliseconds also fit)


def test_epoch_named_version_is_served_and_pinnable(tmp_path: Path) -> None:
    put_version(tmp_path, "3")
    put_version(tmp_path, EPOCH)
    put_version(tmp_path, "1" + "0" * 18)  # 19 digits: not a version, ignored
    settings = Settings(model_dir=tmp_path, model_versions=f"3,{EPOCH}", **FAST)  # type: ignore[arg-type]
    with TestClient(create_app(settings)) as c:
        assert states(c) == {EPOCH: "ready", "3": "ready", "default": EPOCH}
        pinned = c.post("/predict", json={"text": TEXT, "model_version": EPOCH})
        assert pinned.status_code == 200 and pinned.json()["model_version"] == EPOCH
        both = c.post("/predict", json={"texts": [TEXT], "model_version": "3"})
        assert both.status_code == 200 and both.json()["model_version"] == "3"
        for bad in ("0003", "1" + "0" * 18, "\uff13"):
            assert c.post("/predict", json={"text": TEXT, "model_version": bad}).status_code == 422
        samples = metric_samples(c)
        assert sample(samples, "sentiment_model_info", version=EPOCH, device="/CPU:0") == 1


def test_zero_padded_folder_is_not_taken_for_another(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    put_version(tmp_path, "2", source=2)
    put_version(tmp_path, "003")  # int("003") used to name folder 3: "…/3 holds no saved_model.pb"
    app_logger = logging.getLogger("app")
    app_logger.addHandler(caplog.handler)
    try:
        with TestClient(create_app(Settings(model_dir=tmp_path, **FAST))) as c:  # type: ignore[arg-type]
            assert states(c) == {"2": "ready", "default": "2"}
    finally:
        app_logger.removeHandler(caplog.handler)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("folder '003' under MODEL_DIR is not a model version" in m for m in warnings)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

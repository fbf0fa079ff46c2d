"""The start-up artifact checks in-process: tokenizer fingerprint and version, model dir, limits.

The same refusals from a real uvicorn process (exit code, one clear line) are
``tests/process/test_startup_config.py``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from model_contract.artifact import Artifact, ArtifactError
from model_contract.manifest import write_manifest
from model_contract.tokenizer import TokenizerConfig


def _copy_artifact(src: Path, dst_root: Path) -> Path:
    dst = dst_root / "imdb_lstm" / src.name
    shutil.copytree(src, dst)
    return dst


def test_fingerprint_mismatch_refuses_to_start(artifact: Artifact, tmp_path: Path) -> None:
    copy = _copy_artifact(artifact.path, tmp_path)
    pre = json.loads((copy / "preprocessing.json").read_text())
    pre["tokenizer"]["maxlen"] = 100  # trained with other parameters than recorded
    (copy / "preprocessing.json").write_text(json.dumps(pre))
    write_manifest(copy)  # exported that way, not corrupted afterwards
    with (
        pytest.raises(ArtifactError, match="fingerprint mismatch"),
        TestClient(create_app(Settings(model_dir=copy.parent))),
    ):
        pass  # pragma: no cover


def test_older_tokenizer_version_refuses_to_start(artifact: Artifact, tmp_path: Path) -> None:
    copy = _copy_artifact(artifact.path, tmp_path)
    pre = json.loads((copy / "preprocessing.json").read_text())
    pre["tokenizer"]["version"] -= 1  # consistent record, but made by older tokenizer code
    pre["fingerprint"] = TokenizerConfig.from_dict(pre["tokenizer"]).fingerprint()
    (copy / "preprocessing.json").write_text(json.dumps(pre))
    write_manifest(copy)
    with (
        pytest.raises(ArtifactError, match="tokenizer version"),
        TestClient(create_app(Settings(model_dir=copy.parent))),
    ):
        pass  # pragma: no cover


def test_missing_model_dir_refuses_to_start(tmp_path: Path) -> None:
    with (
        pytest.raises(ArtifactError, match="no model versions"),
        TestClient(create_app(Settings(model_dir=tmp_path / "nothing"))),
    ):
        pass  # pragma: no cover


def test_settings_reject_inconsistent_limits() -> None:
    with pytest.raises(ValueError, match="MAX_QUEUE_SIZE"):
        Settings(max_queue_size=4, max_texts_per_request=8)

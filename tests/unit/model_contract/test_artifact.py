"""The artifact's tokenizer checks: parameters (fingerprint), word index, and behaviour (golden ids)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from model_contract.artifact import ArtifactError, load_artifact, resolve_version_dir
from model_contract.manifest import write_manifest
from training.export import GOLDEN_EDGE_CASES

MODEL_DIR = Path(__file__).resolve().parents[3] / "model_artifacts" / "imdb_lstm"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """Tokenizer-side files of the committed artifact (the SavedModel is not needed here)."""
    src = resolve_version_dir(MODEL_DIR)
    dst = tmp_path / "imdb_lstm" / "7"
    dst.mkdir(parents=True)
    for name in ("saved_model.pb", "preprocessing.json", "word_index.json", "metrics.json"):
        shutil.copy(src / name, dst / name)
    write_manifest(dst)  # a (partial) artifact as exported: the checks below are past the manifest
    return dst


def _edit(path: Path, edit) -> None:  # type: ignore[no-untyped-def]
    pre = json.loads((path / "preprocessing.json").read_text())
    edit(pre)
    (path / "preprocessing.json").write_text(json.dumps(pre))
    write_manifest(path)  # consistent edits: the semantic checks must still catch them


def test_committed_artifact_records_golden_examples(copy: Path) -> None:
    artifact = load_artifact(copy.parent)
    golden = artifact.preprocessing["golden"]
    assert [g["text"] for g in golden[: len(GOLDEN_EDGE_CASES)]] == list(GOLDEN_EDGE_CASES)
    assert any(len(artifact.tokenizer.words(g["text"])) > 80 for g in golden)  # real, long reviews


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda pre: pre["golden"][0]["ids"].__setitem__(-1, 3), "golden example 0"),
        (lambda pre: pre.__setitem__("golden", []), "no golden examples"),
        (lambda pre: pre["tokenizer"].__setitem__("maxlen", 100), "fingerprint mismatch"),
        (lambda pre: pre.__setitem__("word_index_sha256", "0" * 64), "word_index.json"),
    ],
)
def test_tampered_artifact_is_refused(copy: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    _edit(copy, edit)
    with pytest.raises(ArtifactError, match=message):
        load_artifact(copy.parent)


def test_unknown_version_is_refused(copy: Path) -> None:
    with pytest.raises(ArtifactError, match="version 3 not found"):
        load_artifact(copy.parent, 3)


def test_edit_without_resealing_is_named_by_the_manifest(copy: Path) -> None:
    pre = json.loads((copy / "preprocessing.json").read_text())
    pre["tokenizer"]["maxlen"] = 100
    (copy / "preprocessing.json").write_text(json.dumps(pre))
    with pytest.raises(ArtifactError, match=r"preprocessing.json: sha256 does not match"):
        load_artifact(copy.parent)

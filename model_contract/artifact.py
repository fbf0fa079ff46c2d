"""Reading a model artifact, shared by the service, the evaluator, bench and tests (the exporter
in ``training/export.py`` is the write side).

Layout (TensorFlow Serving style, one integer version per folder)::

    model_artifacts/imdb_lstm/<version>/
        saved_model.pb, variables/, fingerprint.pb   SavedModel; signature ``serving_default``:
                                                     int32 ``token_ids`` [batch, maxlen] ->
                                                     float32 ``probability`` [batch] = P(positive)
        word_index.json                              word -> frequency rank (1 = most frequent)
        preprocessing.json                           tokenizer config, its fingerprint, word-index hash
        metrics.json                                 validation/test metrics, baselines, versions
        MODEL_CARD.md
        MANIFEST.sha256                              sha256 of every other file (model_contract.manifest)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from model_contract.manifest import ManifestError, verify_manifest
from model_contract.scoring import ScoringPolicy
from model_contract.tokenizer import (
    TOKENIZER_VERSION,
    Tokenizer,
    TokenizerConfig,
    word_index_sha256,
)
from model_contract.versions import is_version_name

SIGNATURE = "serving_default"
INPUT_NAME = "token_ids"
OUTPUT_NAME = "probability"
PREPROCESSING_FILE = "preprocessing.json"
WORD_INDEX_FILE = "word_index.json"
METRICS_FILE = "metrics.json"
MODEL_CARD_FILE = "MODEL_CARD.md"


class ArtifactError(RuntimeError):
    """The artifact is missing, incomplete or was made by an incompatible tokenizer."""


@dataclass(frozen=True)
class Artifact:
    path: Path
    version: int
    tokenizer: Tokenizer
    preprocessing: dict[str, Any]
    metrics: dict[str, Any]
    scoring: ScoringPolicy

    @property
    def test_accuracy(self) -> float | None:
        value = self.metrics.get("test", {}).get("accuracy")
        return float(value) if value is not None else None


def list_versions(model_dir: Path) -> list[int]:
    if not model_dir.is_dir():
        return []
    return sorted(
        int(p.name) for p in model_dir.iterdir() if is_version_name(p.name) and p.is_dir()
    )


def resolve_version_dir(model_dir: Path, version: int | None = None) -> Path:
    """The requested version, or the highest one present."""
    if version is not None and (model_dir / str(version)).is_dir():
        return model_dir / str(version)  # no listing: O(1) however many folders sit beside it
    versions = list_versions(model_dir)
    if not versions:
        raise ArtifactError(f"no model versions under {model_dir} (expected <dir>/<int>/)")
    if version is None:
        version = versions[-1]
    elif version not in versions:
        raise ArtifactError(f"model version {version} not found under {model_dir}: {versions}")
    return model_dir / str(version)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ArtifactError(f"artifact file missing: {path}") from exc
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"artifact file is not valid JSON: {path} ({exc})") from exc


def load_artifact(
    model_dir: Path, version: int | None = None, manifest_sha256: str | None = None
) -> Artifact:
    """Check every file against the manifest, then read the tokenizer side of the artifact and
    prove it matches this code's tokenizer."""
    path = resolve_version_dir(model_dir, version)
    if not (path / "saved_model.pb").exists():
        raise ArtifactError(f"{path} holds no saved_model.pb")
    try:
        verify_manifest(path, manifest_sha256)
    except ManifestError as exc:
        raise ArtifactError(str(exc)) from None
    pre = _read_json(path / PREPROCESSING_FILE)
    word_index = _read_json(path / WORD_INDEX_FILE)
    if not isinstance(word_index, dict):
        raise ArtifactError(
            f"{path / WORD_INDEX_FILE}: expected an object word -> rank, found "
            f"{type(word_index).__name__}; re-export the artifact"
        )
    config = _tokenizer_config(path / PREPROCESSING_FILE, pre)
    expected = config.fingerprint()
    if pre.get("fingerprint") != expected:
        raise ArtifactError(
            f"{path}: tokenizer fingerprint mismatch — the artifact was exported with "
            f"{pre.get('fingerprint')}, this code computes {expected} for the same parameters. "
            "The tokenizer code changed since training: retrain or run the matching code version."
        )
    if config.version != TOKENIZER_VERSION:
        raise ArtifactError(
            f"{path}: tokenizer version {config.version} in the artifact, this code is version "
            f"{TOKENIZER_VERSION}: retrain or roll back."
        )
    if pre.get("word_index_sha256") != word_index_sha256(word_index):
        raise ArtifactError(f"{path}: word_index.json does not match its recorded sha256")
    tokenizer = Tokenizer(config, word_index)
    _check_golden(path, tokenizer, pre.get("golden"))
    try:
        scoring = ScoringPolicy.from_dict(pre.get("scoring"))
    except (TypeError, ValueError) as exc:
        raise ArtifactError(
            f"{path}: invalid 'scoring' section in {PREPROCESSING_FILE}: {exc}"
        ) from exc
    metrics_path = path / METRICS_FILE
    metrics = _read_json(metrics_path) if metrics_path.exists() else {}
    return Artifact(
        path=path,
        version=int(path.name),
        tokenizer=tokenizer,
        preprocessing=pre,
        metrics=metrics,
        scoring=scoring,
    )


def _tokenizer_config(where: Path, pre: Any) -> TokenizerConfig:
    """The recorded tokenizer parameters, each checked for name and type (a hand-edited
    ``maxlen: "80"`` failed deep in start-up with a bare TypeError)."""
    section = pre.get("tokenizer") if isinstance(pre, dict) else None
    if not isinstance(section, dict):
        raise ArtifactError(f"{where}: no 'tokenizer' object; re-export the artifact")
    defaults = asdict(TokenizerConfig())
    for key, value in section.items():
        if key not in defaults:
            raise ArtifactError(f"{where}: unknown tokenizer parameter {key!r}; re-export")
        expected = list if key == "stopwords" else type(defaults[key])
        if type(value) is not expected:
            raise ArtifactError(
                f"{where}: tokenizer parameter {key!r} must be {expected.__name__}, "
                f"found {type(value).__name__}; re-export the artifact"
            )
    try:
        return TokenizerConfig.from_dict(section)
    except (TypeError, ValueError) as exc:
        raise ArtifactError(f"{where}: invalid tokenizer parameters ({exc}); re-export") from exc


def _check_golden(path: Path, tokenizer: Tokenizer, golden: Any) -> None:
    if not golden:
        raise ArtifactError(f"{path}: preprocessing.json records no golden examples")
    for i, example in enumerate(golden):
        if tokenizer.encode(example["text"]).ids.tolist() != example["ids"]:
            raise ArtifactError(
                f"{path}: golden example {i} tokenizes differently than at export — the "
                "tokenizer code changed behaviour; retrain or run the matching code version."
            )

"""Write a versioned artifact: SavedModel (inference twin) + tokenizer files + metrics + model card."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import numpy.typing as npt
import tensorflow as tf

from model_contract.artifact import (
    INPUT_NAME,
    METRICS_FILE,
    MODEL_CARD_FILE,
    OUTPUT_NAME,
    PREPROCESSING_FILE,
    SIGNATURE,
    WORD_INDEX_FILE,
    list_versions,
)
from model_contract.manifest import write_manifest
from model_contract.tokenizer import Tokenizer, word_index_sha256
from training.model_card import render_model_card

EQUIVALENCE_ATOL = 1e-5

# Edge cases whose ids are recorded at export and re-derived at load ("golden" examples), next to a
# few real reviews. The fingerprint proves the *parameters* match; the golden examples prove the
# *code* still turns text into the same ids (regex engine, Unicode tables, refactors).
GOLDEN_EDGE_CASES = (
    "I DON'T like it.<br /><br />Rock'n'roll, café_au_lait... 10/10!",
    "The movie was not good and it is no fun",
    "<BR/>zzqx unknownwordxyz   ",
    "",
)


def golden_examples(tokenizer: Tokenizer, real_texts: list[str]) -> list[dict[str, Any]]:
    texts = [*GOLDEN_EDGE_CASES, *real_texts]
    return [{"text": t, "ids": tokenizer.encode(t).ids.tolist()} for t in texts]


def preprocessing_record(tokenizer: Tokenizer, golden_texts: list[str]) -> dict[str, Any]:
    config, word_index = tokenizer.config, tokenizer.word_index
    return {
        "tokenizer": config.to_dict(),
        "fingerprint": config.fingerprint(),
        "word_index_file": WORD_INDEX_FILE,
        "word_index_sha256": word_index_sha256(word_index),
        "signature": SIGNATURE,
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAME,
        "golden": golden_examples(tokenizer, golden_texts),
    }


def next_version(model_dir: Path) -> int:
    versions = list_versions(model_dir)
    return versions[-1] + 1 if versions else 1


def export_savedmodel(model: keras.Model, path: Path, maxlen: int) -> None:
    """Export ``serving_default``: int32 token_ids [batch, maxlen] -> float32 probability [batch]."""
    # No ``archive.track(model)``: add_endpoint already tracks every variable the endpoint uses,
    # and tracking the model as well stored each weight twice (20 MB instead of 10 MB; versions
    # 1 and 2 were exported that way and stay as they are - artifacts are immutable).
    archive = keras.export.ExportArchive()

    def serve(token_ids: tf.Tensor) -> dict[str, tf.Tensor]:
        return {OUTPUT_NAME: tf.reshape(model(token_ids, training=False), [-1])}

    archive.add_endpoint(
        name=SIGNATURE,
        fn=serve,
        input_signature=[tf.TensorSpec([None, maxlen], tf.int32, name=INPUT_NAME)],
    )
    archive.write_out(str(path), verbose=False)


def check_equivalence(
    trained: keras.Model, twin: keras.Model, sample: npt.NDArray[np.int32]
) -> float:
    """Max |p_trained - p_twin| on real inputs; raises when above the tolerance."""
    a = trained(sample, training=False).numpy().reshape(-1)
    b = twin(sample, training=False).numpy().reshape(-1)
    diff = float(np.max(np.abs(a - b)))
    if diff > EQUIVALENCE_ATOL:
        raise RuntimeError(f"exported twin differs from the trained model by {diff} > 1e-5")
    return diff


def write_artifact(
    *,
    model_dir: Path,
    version: int,
    twin: keras.Model,
    tokenizer: Tokenizer,
    golden_texts: list[str],
    metrics: dict[str, Any],
    overwrite: bool = False,
    extras: Callable[[Path], None] | None = None,
) -> Path:
    """Write everything into a hidden staging folder, then rename it to ``<version>``.

    ``extras(staging)`` may add files (e.g. the reliability diagram) before the rename.
    """
    path = model_dir / str(version)
    if path.exists():
        if not overwrite:
            raise FileExistsError(f"{path} exists; pass --overwrite or pick another --version")
        shutil.rmtree(path)
    staging = model_dir / f".{version}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    config, word_index = tokenizer.config, tokenizer.word_index
    export_savedmodel(twin, staging, config.maxlen)
    (staging / WORD_INDEX_FILE).write_text(
        json.dumps(word_index, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
    )
    record = preprocessing_record(tokenizer, golden_texts) | {"model_version": version}
    if "scoring" in metrics:  # whole-review windows + calibration (model_contract/scoring.py)
        record["scoring"] = metrics["scoring"]
    (staging / PREPROCESSING_FILE).write_text(json.dumps(record, indent=2) + "\n")
    (staging / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n")
    (staging / MODEL_CARD_FILE).write_text(render_model_card(version, config, metrics))
    if extras is not None:
        extras(staging)
    write_manifest(staging)  # last: it covers every file above (checked at load)
    staging.rename(path)  # a half-written artifact is never visible under its version number
    return path

"""The tutorial way to serve a Keras model — the baseline the batching service must beat.

FastAPI, the same artifact loaded as a Keras model, one ``model.predict()`` per request in a plain
``def`` endpoint (FastAPI runs it in its thread pool). No batching, no queue, no tuning.

    MODEL_DIR=model_artifacts/imdb_lstm uvicorn bench.naive_service:app --port 8001
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
from fastapi import FastAPI

from app.schemas import PredictRequest
from model_contract.artifact import load_artifact

artifact = load_artifact(Path(os.environ.get("MODEL_DIR", "model_artifacts/imdb_lstm")))
_inputs = keras.Input(shape=(artifact.tokenizer.config.maxlen,), dtype="int32", name="token_ids")
_outputs = keras.layers.TFSMLayer(str(artifact.path), call_endpoint="serving_default")(_inputs)
model = keras.Model(_inputs, _outputs)

app = FastAPI(title="naive reference")


@app.get("/readyz")
def readyz() -> dict[str, str]:
    return {"status": "ready"}


@app.post("/predict")
def predict(req: PredictRequest) -> dict[str, object]:
    x = artifact.tokenizer.encode_batch(req.items)
    probability = float(model.predict(x, verbose=0)["probability"][0])
    label = "positive" if probability >= 0.5 else "negative"
    return {"label": label, "probability": probability, "model_version": str(artifact.version)}

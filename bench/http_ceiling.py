"""The HTTP ceiling: the service's request schema and response shape with no model work at all.

Whatever this reaches on the machine is the most any single-process FastAPI service can do per
request; the real service is measured against it.

    uvicorn bench.http_ceiling:app --port 8002
"""

from __future__ import annotations

from fastapi import FastAPI

from app.schemas import PredictRequest

app = FastAPI(title="http ceiling")


@app.get("/readyz")
async def readyz() -> dict[str, str]:
    return {"status": "ready"}


@app.post("/predict")
async def predict(req: PredictRequest) -> dict[str, object]:
    # A constant answer of the same size as the real one; validation of the body still happens.
    return {"label": "positive", "probability": 0.5, "model_version": "1"}

"""A real ``python -m app.serve`` with V2 gRPC on, an API key and a small body limit, for the
V2 protocol tests with Triton's own clients (``tritonclient.http`` / ``tritonclient.grpc``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from model_contract.artifact import resolve_version_dir
from tests.process.servers import Server, free_port, run_server

KEY = "v2-test-key"
# The committed default (the highest version), as a V2 version string: "4", "5", ...
DEFAULT = resolve_version_dir(
    Path(__file__).resolve().parents[2] / "model_artifacts" / "imdb_lstm"
).name


def auth() -> dict[str, str]:
    """Fresh headers each call: tritonclient.http adds its own keys to the dict it is given."""
    return {"authorization": f"Bearer {KEY}"}


MODEL = "imdb_lstm"
MAX_BODY = 65_536  # small, so an oversized message is cheap to send
OUTPUT_NAMES = ("probability", "label", "windows", "readable", "reason", "coverage", "language")
LONG = " ".join(
    ["The first hour drags, with flat dialogue and a plot that goes nowhere at all."] * 12
    + ["Then it finds its heart: the last act is moving, funny and beautifully acted."] * 12
)
TEXTS = [
    "A moving, beautifully acted film. I loved every minute of it.",
    "This movie was not good at all. I would not recommend it.",
    LONG,  # several 80-token windows: whole-review scoring averages them
    "Ein schrecklicher Film, wirklich langweilig und viel zu lang.",  # flagged, still answered
    "meh",
]


@dataclass
class V2Server:
    server: Server
    grpc_port: int

    @property
    def http_url(self) -> str:  # tritonclient.http takes host:port
        return f"127.0.0.1:{self.server.port}"

    @property
    def grpc_url(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"


@contextmanager
def v2_server(tmp_path: Path, **env: str) -> Iterator[V2Server]:
    port = free_port()
    settings = {"API_KEY": KEY, "GRPC_PORT": str(port), "MAX_BODY_BYTES": str(MAX_BODY), **env}
    with run_server(tmp_path, **settings) as server:
        yield V2Server(server, port)


def texts_array(texts: list[str]) -> np.ndarray[Any, Any]:
    return np.array([t.encode() for t in texts], dtype=np.object_)


def predict(server: V2Server, texts: list[str], **extra: Any) -> dict[str, Any]:
    """``POST /predict``'s answer: the reference the V2 answers must equal."""
    url = f"{server.server.url}/predict"
    response = httpx.post(url, json={"texts": texts, **extra}, headers=auth(), timeout=30)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def strings(values: Any) -> list[str]:
    """A BYTES output as str (binary mode gives bytes, JSON mode str)."""
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def assert_same_answers(result: Any, reference: dict[str, Any]) -> None:
    """A V2 ``InferResult`` (either client's) equals ``/predict``'s predictions, item by item."""
    preds = reference["predictions"]
    probability = result.as_numpy("probability")
    assert probability.dtype == np.float32 and probability.shape == (len(preds),)
    np.testing.assert_allclose(probability, [p["probability"] for p in preds], rtol=0, atol=1e-6)
    assert strings(result.as_numpy("label")) == [p["label"] for p in preds]
    assert result.as_numpy("windows").tolist() == [p["windows"] for p in preds]
    assert result.as_numpy("readable").tolist() == [p["readable"] for p in preds]
    assert [x or None for x in strings(result.as_numpy("reason"))] == [p["reason"] for p in preds]
    coverage = result.as_numpy("coverage")
    np.testing.assert_allclose(coverage, [p["coverage"] for p in preds], rtol=0, atol=1e-6)
    assert [x or None for x in strings(result.as_numpy("language"))] == [
        p["language"] for p in preds
    ]

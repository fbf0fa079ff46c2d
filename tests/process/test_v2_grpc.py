"""V2 gRPC against a real server process, through Triton's own client (``tritonclient.grpc``).

The gRPC server runs inside the HTTP server's process and event loop: its answers equal
``POST /predict``'s on the same process (1e-6), errors arrive as the client's
``InferenceServerException`` with the gRPC status, requests are counted with
``protocol="grpc"``, and SIGTERM drains RPCs already accepted.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import tritonclient.grpc as triton
import tritonclient.grpc.aio as triton_aio
from tritonclient.utils import InferenceServerException

from app.serve import command
from tests.process.servers import free_port, metric
from tests.process.v2_server import (
    DEFAULT,
    MODEL,
    OUTPUT_NAMES,
    TEXTS,
    V2Server,
    assert_same_answers,
    auth,
    predict,
    texts_array,
    v2_server,
)

pytestmark = pytest.mark.process


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[V2Server]:
    with v2_server(tmp_path_factory.mktemp("v2-grpc")) as running:
        yield running


@pytest.fixture
def client(server: V2Server) -> Iterator[triton.InferenceServerClient]:
    c = triton.InferenceServerClient(server.grpc_url)
    yield c
    c.close()


def text_input(texts: list[str], module: Any = triton) -> Any:
    tensor = module.InferInput("text", [len(texts)], "BYTES")
    tensor.set_data_from_numpy(texts_array(texts))
    return tensor


def test_health_and_metadata(client: triton.InferenceServerClient) -> None:
    assert client.is_server_live() and client.is_server_ready()
    assert list(client.get_server_metadata().extensions) == ["binary_tensor_data"]
    assert client.is_model_ready(MODEL) and client.is_model_ready(MODEL, DEFAULT)
    meta = client.get_model_metadata(MODEL, as_json=True)
    assert meta["versions"] == [DEFAULT] and meta["platform"] == "tensorflow_savedmodel"
    assert meta["inputs"] == [{"name": "text", "datatype": "BYTES", "shape": ["-1"]}]
    assert [o["name"] for o in meta["outputs"]] == list(OUTPUT_NAMES)
    with pytest.raises(InferenceServerException) as caught:
        client.is_model_ready(MODEL, "99")
    assert caught.value.status() == "StatusCode.NOT_FOUND"
    with pytest.raises(InferenceServerException) as caught:
        client.get_model_metadata("x")
    assert caught.value.status() == "StatusCode.NOT_FOUND"


def test_answers_equal_predict(server: V2Server, client: triton.InferenceServerClient) -> None:
    result = client.infer(MODEL, [text_input(TEXTS)], headers=auth())
    assert result.get_response().model_version == DEFAULT
    reference = predict(server, TEXTS)
    assert_same_answers(result, reference)
    assert (
        reference["predictions"][2]["windows"] > 1 and not reference["predictions"][3]["readable"]
    )


def test_scoring_parameter_pinned_version_and_requested_outputs(
    server: V2Server, client: triton.InferenceServerClient
) -> None:
    last = client.infer(
        MODEL,
        [text_input(TEXTS)],
        model_version=DEFAULT,
        parameters={"scoring": "last"},
        headers=auth(),
    )
    assert_same_answers(last, predict(server, TEXTS, scoring="last", model_version=DEFAULT))
    outputs = [triton.InferRequestedOutput("label"), triton.InferRequestedOutput("probability")]
    some = client.infer(MODEL, [text_input(TEXTS[:2])], outputs=outputs, headers=auth())
    assert [o.name for o in some.get_response().outputs] == ["label", "probability"]
    assert some.as_numpy("windows") is None


def test_bytes_contents_are_read_as_well(client: triton.InferenceServerClient) -> None:
    """Not only ``raw_input_contents`` (what tritonclient sends): the typed ``bytes_contents``."""
    from tritonclient.grpc import service_pb2 as pb

    request = pb.ModelInferRequest(model_name=MODEL)
    tensor = request.inputs.add(name="text", datatype="BYTES", shape=[2])
    tensor.contents.bytes_contents.extend([t.encode() for t in TEXTS[:2]])
    response = client._client_stub.ModelInfer(request, metadata=list(auth().items()), timeout=30)
    raw = triton.InferResult(response)
    reference = client.infer(MODEL, [text_input(TEXTS[:2])], headers=auth())
    np.testing.assert_array_equal(raw.as_numpy("probability"), reference.as_numpy("probability"))


def test_grpcurl_style_json_request(client: triton.InferenceServerClient) -> None:
    """docs/api.md's grpcurl request: protobuf's JSON mapping (what grpcurl sends), base64 bytes."""
    from google.protobuf import json_format
    from tritonclient.grpc import service_pb2 as pb

    doc = """{"model_name": "imdb_lstm",
      "inputs": [{"name": "text", "datatype": "BYTES", "shape": ["1"],
                  "contents": {"bytes_contents": ["QSBkdWxsLCBsaWZlbGVzcyBtZXNzLg=="]}}]}"""
    request = json_format.Parse(doc, pb.ModelInferRequest())
    response = client._client_stub.ModelInfer(request, metadata=list(auth().items()), timeout=30)
    answer = json_format.MessageToDict(response)
    assert answer["modelVersion"] == DEFAULT and answer["outputs"][1]["name"] == "label"
    result = triton.InferResult(response)
    assert result.as_numpy("label").tolist() == [b"negative"]  # "A dull, lifeless mess."


def _typed(datatype: str, shape: list[int], data: np.ndarray[Any, Any]) -> triton.InferInput:
    tensor = triton.InferInput("text", shape, datatype)
    tensor.set_data_from_numpy(data)
    return tensor


# (what is wrong, call kwargs, gRPC status, words the message holds)
ERRORS: list[tuple[str, dict[str, Any], str, str]] = [
    ("unknown model", {"model_name": "bert"}, "NOT_FOUND", "unknown model 'bert'"),
    ("unknown version", {"model_version": "99"}, "NOT_FOUND", "model version '99' is not loaded"),
    (
        "wrong datatype",
        {"inputs": [_typed("FP32", [2], np.array([0.5, 1.5], dtype=np.float32))]},
        "INVALID_ARGUMENT",
        "must be BYTES",
    ),
    (
        "wrong shape",
        {"inputs": [_typed("BYTES", [2, 1], texts_array(TEXTS[:2]).reshape(2, 1))]},
        "INVALID_ARGUMENT",
        "must have shape [N]",
    ),
    ("too many texts", {"inputs": [text_input(["fine"] * 65)]}, "INVALID_ARGUMENT", "at most 64"),
    ("oversized", {"inputs": [text_input(["x" * 2000] * 40)]}, "RESOURCE_EXHAUSTED", "larger than"),
    ("blank text", {"inputs": [text_input(["ok", " "])]}, "INVALID_ARGUMENT", "text 1 is empty"),
    ("bad parameter", {"parameters": {"scoring": "best"}}, "INVALID_ARGUMENT", "'scoring'"),
    ("missing token", {"headers": {}}, "UNAUTHENTICATED", "missing or invalid API key"),
    ("wrong token", {"headers": {"authorization": "Bearer no"}}, "UNAUTHENTICATED", "API key"),
]


@pytest.mark.parametrize(("case", "kwargs", "status", "words"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_arrive_as_the_clients_exception(
    client: triton.InferenceServerClient, case: str, kwargs: dict[str, Any], status: str, words: str
) -> None:
    call: dict[str, Any] = {
        "model_name": MODEL,
        "inputs": [text_input(TEXTS[:2])],
        "headers": auth(),
    }
    with pytest.raises(InferenceServerException) as caught:
        client.infer(**(call | kwargs), client_timeout=30)
    assert caught.value.status() == f"StatusCode.{status}"
    assert words in caught.value.message()


def test_requests_are_counted_by_protocol(
    server: V2Server, client: triton.InferenceServerClient
) -> None:
    def count(status: str) -> float:
        text = httpx.get(f"{server.server.url}/metrics", timeout=10).text
        labels = {"protocol": "grpc", "endpoint": "model_infer", "status": status}
        return metric(text, "sentiment_v2_requests_total", **labels)

    ok, invalid = count("OK"), count("INVALID_ARGUMENT")
    client.infer(MODEL, [text_input(TEXTS[:1])], headers=auth())
    with pytest.raises(InferenceServerException):
        client.infer(MODEL, [text_input(["fine"] * 65)], headers=auth())
    assert (count("OK"), count("INVALID_ARGUMENT")) == (ok + 1, invalid + 1)


def test_sigterm_drains_accepted_rpcs(tmp_path: Path) -> None:
    # A long batch window keeps every RPC queued inside the server when SIGTERM lands.
    n = 24
    env = {"MAX_BATCH_DELAY_MS": "5000", "MAX_BATCH_SIZE": "64"}
    with v2_server(tmp_path, **env) as server:

        async def scenario() -> tuple[list[Any], object]:
            async with triton_aio.InferenceServerClient(server.grpc_url) as client:
                calls = [
                    asyncio.create_task(
                        client.infer(
                            MODEL, [text_input([f"great {i}"], triton_aio)], headers=auth()
                        )
                    )
                    for i in range(n)
                ]
                deadline = time.monotonic() + 30
                async with httpx.AsyncClient(timeout=10) as probe:
                    while (
                        metric(
                            (await probe.get(f"{server.server.url}/metrics")).text,
                            "sentiment_queue_depth",
                        )
                        < n
                    ):
                        assert time.monotonic() < deadline, "the RPCs never all queued"
                        await asyncio.sleep(0.02)
                server.server.proc.send_signal(signal.SIGTERM)
                try:  # readiness flips at once (or the server is already closing)
                    ready: object = await client.is_server_ready()
                except InferenceServerException as exc:
                    ready = exc.status()
                results = await asyncio.gather(*calls, return_exceptions=True)
                return results, ready

        results, ready = asyncio.run(asyncio.wait_for(scenario(), 120))
        assert server.server.proc.wait(60) == 0, server.server.log()[-3000:]
    assert ready is not True
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    # Every RPC was answered with a prediction (which label a two-word text gets is the model's).
    assert all(r.as_numpy("label")[0] in (b"positive", b"negative") for r in results)
    assert len(results) == n


def test_a_taken_grpc_port_refuses_to_start(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "GRPC_PORT": str(port), "TF_CPP_MIN_LOG_LEVEL": "2"}
        cmd = command(["--host", "127.0.0.1", "--port", str(free_port())])
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 1
    assert f"refusing to start: cannot listen for gRPC on 127.0.0.1:{port}" in proc.stderr

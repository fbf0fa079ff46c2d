"""V2 REST against a real server process, through Triton's own client (``tritonclient.http``).

The answers equal ``POST /predict``'s on the same server (1e-6), in the client's default binary
tensor mode and in plain JSON; every error arrives as the client's ``InferenceServerException``
with the protocol's status and message.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from tests.process.servers import metric
from tests.process.v2_server import (
    DEFAULT,
    MAX_BODY,
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
    with v2_server(tmp_path_factory.mktemp("v2-rest")) as running:
        yield running


@pytest.fixture
def client(server: V2Server) -> Iterator[triton.InferenceServerClient]:
    c = triton.InferenceServerClient(server.http_url, network_timeout=60)
    yield c
    c.close()


def text_input(texts: list[str], binary: bool = True) -> triton.InferInput:
    tensor = triton.InferInput("text", [len(texts)], "BYTES")
    tensor.set_data_from_numpy(texts_array(texts), binary_data=binary)
    return tensor


def test_health_and_metadata(client: triton.InferenceServerClient) -> None:
    assert client.is_server_live() and client.is_server_ready()
    assert client.get_server_metadata()["extensions"] == ["binary_tensor_data"]
    assert client.is_model_ready(MODEL) and client.is_model_ready(MODEL, DEFAULT)
    assert not client.is_model_ready(MODEL, "99") and not client.is_model_ready("other")
    meta = client.get_model_metadata(MODEL)
    assert meta["versions"] == [DEFAULT]
    assert meta["inputs"] == [{"name": "text", "datatype": "BYTES", "shape": [-1]}]
    assert [o["name"] for o in meta["outputs"]] == list(OUTPUT_NAMES)
    assert client.get_model_metadata(MODEL, DEFAULT)["versions"] == [DEFAULT]


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_answers_equal_predict(
    server: V2Server, client: triton.InferenceServerClient, binary: bool
) -> None:
    outputs = [triton.InferRequestedOutput(n, binary_data=binary) for n in OUTPUT_NAMES]
    result = client.infer(MODEL, [text_input(TEXTS, binary)], outputs=outputs, headers=auth())
    assert result.get_response()["model_version"] == DEFAULT
    reference = predict(server, TEXTS)
    assert_same_answers(result, reference)
    assert (
        reference["predictions"][2]["windows"] > 1 and not reference["predictions"][3]["readable"]
    )


def test_client_defaults_scoring_parameter_and_pinned_version(
    server: V2Server, client: triton.InferenceServerClient
) -> None:
    # No outputs named: the client asks for all of them as binary (binary_data_output).
    result = client.infer(MODEL, [text_input(TEXTS)], headers=auth(), model_version=DEFAULT)
    assert_same_answers(result, predict(server, TEXTS, model_version=DEFAULT))
    last = client.infer(MODEL, [text_input(TEXTS)], headers=auth(), parameters={"scoring": "last"})
    assert_same_answers(last, predict(server, TEXTS, scoring="last"))
    assert last.as_numpy("windows").tolist() == [1] * len(TEXTS)


def test_only_the_requested_outputs(client: triton.InferenceServerClient) -> None:
    outputs = [triton.InferRequestedOutput("label"), triton.InferRequestedOutput("probability")]
    result = client.infer(MODEL, [text_input(TEXTS[:2])], outputs=outputs, headers=auth())
    assert [o["name"] for o in result.get_response()["outputs"]] == ["label", "probability"]
    assert result.as_numpy("windows") is None


def _fp32_input() -> triton.InferInput:
    tensor = triton.InferInput("text", [2], "FP32")
    tensor.set_data_from_numpy(np.array([0.5, 1.5], dtype=np.float32))
    return tensor


def _shaped_input() -> triton.InferInput:
    tensor = triton.InferInput("text", [2, 1], "BYTES")
    tensor.set_data_from_numpy(texts_array(TEXTS[:2]).reshape(2, 1))
    return tensor


# (what is wrong, call kwargs, status, words the message holds)
ERRORS: list[tuple[str, dict[str, Any], str, str]] = [
    ("unknown model", {"model_name": "bert"}, "404", "unknown model 'bert'"),
    ("unknown version", {"model_version": "99"}, "404", "model version '99' is not loaded"),
    ("wrong datatype", {"inputs": [_fp32_input()]}, "400", "must be BYTES"),
    ("wrong shape", {"inputs": [_shaped_input()]}, "400", "must have shape [N]"),
    ("too many texts", {"inputs": [text_input(["fine"] * 65)]}, "400", "at most 64 texts"),
    ("oversized", {"inputs": [text_input(["x" * 2000] * 40)]}, "413", f"exceeds {MAX_BODY}"),
    ("blank text", {"inputs": [text_input(["ok", "  "])]}, "400", "text 1 is empty"),
    ("unknown output", {"outputs": [triton.InferRequestedOutput("f1")]}, "400", "unknown output"),
    ("bad parameter", {"parameters": {"scoring": "best"}}, "400", "'scoring' must be one of"),
    ("missing token", {"headers": {}}, "401", "missing or invalid API key"),
    ("wrong token", {"headers": {"authorization": "Bearer nope"}}, "401", "invalid API key"),
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
        client.infer(**(call | kwargs))
    assert caught.value.status() == status
    assert words in caught.value.message()


def test_malformed_bodies_get_the_protocols_error(server: V2Server) -> None:
    url = f"{server.server.url}/v2/models/{MODEL}/infer"
    for body, words in [
        (b"{not json", "invalid inference request"),
        (b'{"inputs": []}', "the model takes one input"),
        (b'{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES"}]}', "has no data"),
        (
            b'{"inputs": [{"name": "text", "shape": [2], "datatype": "BYTES", "data": ["a"]}]}',
            "[2]",
        ),
    ]:
        r = httpx.post(url, content=body, headers=auth(), timeout=30)
        assert (r.status_code, set(r.json())) == (400, {"error"}), r.text
        assert words in r.json()["error"]
    # The binary extension: a header length past the body, and BYTES cut short.
    r = httpx.post(url, content=b"{}", headers={**auth(), "Inference-Header-Content-Length": "9"})
    assert r.status_code == 400 and "inference-header-content-length" in r.json()["error"]
    head = b'{"inputs":[{"name":"text","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":6}}]}'
    cut = head + b"\x09\x00\x00\x00ab"  # says 9 bytes, sends 2
    r = httpx.post(
        url, content=cut, headers={**auth(), "Inference-Header-Content-Length": str(len(head))}
    )
    assert r.status_code == 400 and "ends inside an element" in r.json()["error"]
    assert httpx.get(f"{server.server.url}/v2/models/{MODEL}/nothing").json() == {
        "error": "Not Found"
    }
    # An unknown version is a 404 whatever the body (the model is checked before the body is read).
    r = httpx.post(
        f"{server.server.url}/v2/models/{MODEL}/versions/99/infer", content=b"{}", headers=auth()
    )
    assert (r.status_code, r.json()) == (
        404,
        {"error": f"model version '99' is not loaded; loaded: {DEFAULT}"},
    )


def test_requests_are_counted_by_protocol(
    server: V2Server, client: triton.InferenceServerClient
) -> None:
    def count(status: str) -> float:
        text = httpx.get(f"{server.server.url}/metrics", timeout=10).text
        labels = {"protocol": "rest", "endpoint": "model_infer", "status": status}
        return metric(text, "sentiment_v2_requests_total", **labels)

    ok, unauthorized = count("200"), count("401")
    client.infer(MODEL, [text_input(TEXTS[:1])], headers=auth())
    with pytest.raises(InferenceServerException):
        client.infer(MODEL, [text_input(TEXTS[:1])])
    assert (count("200"), count("401")) == (ok + 1, unauthorized + 1)

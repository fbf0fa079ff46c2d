"""V2 REST in-process: the unversioned infer route takes the request middleware's shortcut
(``app.v2.fast``), the versioned one Starlette's routing; both answer byte for byte alike."""

from __future__ import annotations

from fastapi.testclient import TestClient

BODY = {
    "inputs": [
        {"name": "text", "shape": [2], "datatype": "BYTES", "data": ["Loved it.", "A dull mess."]}
    ],
    "parameters": {"scoring": "whole"},
}


def test_fast_and_routed_infer_answer_alike(client: TestClient) -> None:
    app = client.app
    assert "/v2/models/imdb_lstm/infer" in app.fast_paths  # type: ignore[attr-defined]
    version = client.get("/v2/models/imdb_lstm").json()["versions"][0]
    fast = client.post("/v2/models/imdb_lstm/infer", json=BODY)
    routed = client.post(f"/v2/models/imdb_lstm/versions/{version}/infer", json=BODY)
    assert fast.status_code == routed.status_code == 200
    assert fast.content == routed.content


def test_fast_path_errors_are_the_protocols(client: TestClient) -> None:
    bad = {"inputs": [{"name": "text", "shape": [1], "datatype": "INT32", "data": [1]}]}
    r = client.post("/v2/models/imdb_lstm/infer", json=bad)
    assert (r.status_code, r.json()) == (
        400,
        {"error": "input 'text' must be BYTES (review texts), got INT32"},
    )
    r = client.post("/v2/models/imdb_lstm/infer", content=b"{")
    assert r.status_code == 400 and r.json()["error"].startswith("invalid inference request")

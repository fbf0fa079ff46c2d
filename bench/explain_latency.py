"""/explain (both methods) vs /predict latency at concurrency 1 on the same ~1.7 KB real review.

One service (``bench.server``: the serve settings of ``make serve``) and one keep-alive connection;
``/predict``, ``/explain`` (occlusion, exact) and ``/explain`` (gradient, the default) take turns
request by request, so drift on this shared machine hits all alike. Prints one table row per case and route: p50/p95, the
ratio of the medians to ``/predict``'s, what an explanation cost (model rows, windows, explained
words), and the mean time per request in SavedModel calls from the server's own
``sentiment_inference_duration_seconds`` (a separate run of each route alone; the gradient method's
backward passes run on their own thread and are not in that metric).

    .venv/bin/python -m bench.explain_latency [--n 300] [--chars 1700]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import time
from typing import Any

import numpy as np

from bench.reviews import dataset_path
from bench.server import Server


def pick_review(chars: int) -> str:
    """The test review whose length is closest to ``chars`` (ties: the smallest string)."""
    from training.data import load_imdb

    texts = load_imdb(str(dataset_path())).test.texts
    return min(texts, key=lambda t: (abs(len(t.encode()) - chars), t))


def longest_allowed(max_chars: int) -> str:
    """Real test reviews joined up to MAX_TEXT_CHARS characters: the most an /explain can cost."""
    from training.data import load_imdb

    out = ""
    for text in load_imdb(str(dataset_path())).test.texts:
        if len(out) + 1 + len(text) > max_chars:
            break
        out = f"{out} {text}" if out else text
    return out


def post(conn: http.client.HTTPConnection, path: str, body: bytes) -> tuple[float, Any]:
    """Seconds from sending the request to the answer's last byte (the client's JSON parsing of
    an explanation's ~36 KB is not counted), and the parsed answer."""
    t0 = time.perf_counter()
    conn.request("POST", path, body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    data = response.read()
    elapsed = time.perf_counter() - t0
    if response.status != 200:
        raise RuntimeError(f"{path}: {response.status} {data[:300]!r}")
    return elapsed, json.loads(data)


ROUTES = {  # label -> (path, extra body)
    "/predict": ("/predict", {}),
    "/explain occlusion": ("/explain", {"method": "occlusion"}),  # the exact option
    "/explain gradient": ("/explain", {"method": "gradient"}),  # the default, named explicitly
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=300, help="requests per route and mode")
    parser.add_argument("--chars", type=int, default=1700, help="review size in bytes (UTF-8)")
    args = parser.parse_args()
    text = pick_review(args.chars)
    print(
        f"review: {len(text.encode())} bytes, {len(text.split())} words; {args.n} requests per "
        f"route and mode, interleaved, c=1; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}"
    )
    from app.config import Settings

    longest = longest_allowed(Settings().max_text_chars)
    cases = [("last", text), ("whole", text), ("whole", longest)]
    table = []
    with Server("service", "app.main:app", {}) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        version = json.loads(server_get(conn, "/model"))["version"]
        for scoring, review in cases:
            bodies = {
                label: (path, json.dumps({"text": review, "scoring": scoring, **extra}).encode())
                for label, (path, extra) in ROUTES.items()
            }
            for _ in range(20):  # warm-up: connection, caches, every padded batch size
                for path, body in bodies.values():
                    post(conn, path, body)
            times: dict[str, list[float]] = {label: [] for label in bodies}
            for _ in range(args.n if review is text else max(20, args.n // 10)):
                for label, (path, body) in bodies.items():
                    elapsed, _answer = post(conn, path, body)
                    times[label].append(elapsed * 1000)
            n_model = 50 if review is text else 10
            case = f"{scoring}, {len(review.encode()):,} B"
            for label, (path, body) in bodies.items():
                _, answer = post(conn, path, body)
                p50, p95 = np.percentile(times[label], [50, 95])
                model = model_ms_per_request(conn, path, body, n_model)
                table.append((case, label, p50, p95, answer, model))
        conn.close()
    print(f"\nmodel version {version}; load average now {os.getloadavg()[0]:.2f}\n")
    print(
        "| scoring, review | route | p50 ms | p95 ms | p50 / /predict p50 | rows | windows "
        "| words explained | SavedModel ms/request |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    base = 0.0
    for case, label, p50, p95, answer, model in table:
        base = p50 if label == "/predict" else base
        rows = answer.get("rows", answer.get("windows", 1))
        words = answer.get("explained_words", "-")
        print(
            f"| {case} | {label} | {p50:.2f} | {p95:.2f} | {p50 / base:.1f}x | {rows} | "
            f"{answer.get('windows', 1)} | {words} | {model:.2f} |"
        )
    return 0


def model_seconds(conn: http.client.HTTPConnection) -> float:
    """The server's own total of model-call time (``sentiment_inference_duration_seconds_sum``)."""
    text = server_get(conn, "/metrics").decode()
    match = re.search(r"^sentiment_inference_duration_seconds_sum\s+(\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else float("nan")


def model_ms_per_request(conn: http.client.HTTPConnection, path: str, body: bytes, n: int) -> float:
    """Mean model time inside the server per request (alone on the server, c=1)."""
    before = model_seconds(conn)
    for _ in range(n):
        post(conn, path, body)
    return (model_seconds(conn) - before) * 1000 / n


def server_get(conn: http.client.HTTPConnection, path: str) -> bytes:
    conn.request("GET", path)
    return conn.getresponse().read()


if __name__ == "__main__":
    raise SystemExit(main())

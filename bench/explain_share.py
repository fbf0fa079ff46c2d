"""``/predict`` latency while other clients run ``/explain`` occlusion, against the same server idle.

One service (``bench.server``, the ``make serve`` settings). ``--rounds`` times, alternately:
``--n``/``--rounds`` sequential ``/predict`` calls of a short review on the idle server, then as many
while ``--clients`` threads each send ``/explain`` with ``"method": "occlusion"`` for a
``MAX_TEXT_CHARS`` text without pause (alternating, so drift on a shared machine hits both alike).
Prints p50/p99 of both, their ratio, and the ``/explain`` request and answer sizes.

    .venv/bin/python -m bench.explain_share [--n 600] [--clients 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time

import numpy as np

from bench.server import Server

REVIEW = "A wonderful, moving film with brilliant performances. I loved every minute of it."
SENTENCE = "The plot was thin but the actors carried it, and the score is lovely. "


def _post(conn: http.client.HTTPConnection, path: str, body: bytes) -> tuple[float, int, int]:
    started = time.perf_counter()
    conn.request("POST", path, body, {"content-type": "application/json"})
    response = conn.getresponse()
    data = response.read()
    return time.perf_counter() - started, response.status, len(data)


def predict_latencies(port: int, n: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    body = json.dumps({"text": REVIEW}).encode()
    for _ in range(20):  # warm the connection and the shape
        _post(conn, "/predict", body)
    out = []
    for _ in range(n):
        seconds, status, _ = _post(conn, "/predict", body)
        assert status == 200, status
        out.append(seconds)
    conn.close()
    return out


def explainer(port: int, stop: threading.Event, sizes: list[tuple[int, int, int]]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    text = (SENTENCE * 400)[:20_000]
    body = json.dumps({"text": text, "method": "occlusion"}).encode()
    while not stop.is_set():
        _, status, size = _post(conn, "/explain", body)
        sizes.append((status, len(body), size))
    conn.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    idle_ms: list[float] = []
    busy_ms: list[float] = []
    sizes: list[tuple[int, int, int]] = []
    with Server("explain-share", "app.main:app", {}) as server:
        for _ in range(args.rounds):
            idle_ms += predict_latencies(server.port, args.n // args.rounds)
            stop = threading.Event()
            threads = [
                threading.Thread(target=explainer, args=(server.port, stop, sizes), daemon=True)
                for _ in range(args.clients)
            ]
            for t in threads:
                t.start()
            time.sleep(3.0)  # the explain clients are running
            busy_ms += predict_latencies(server.port, args.n // args.rounds)
            stop.set()
            for t in threads:
                t.join(120)
    idle, busy = np.array(idle_ms) * 1000, np.array(busy_ms) * 1000
    p = {name: np.percentile(x, [50, 99]) for name, x in (("idle", idle), ("busy", busy))}
    print(f"/predict idle: p50 {p['idle'][0]:.1f} ms, p99 {p['idle'][1]:.1f} ms (n={len(idle)})")
    print(
        f"/predict with {args.clients} occlusion clients: p50 {p['busy'][0]:.1f} ms, "
        f"p99 {p['busy'][1]:.1f} ms; p99 ratio {p['busy'][1] / p['idle'][1]:.2f}"
    )
    statuses = sorted({s for s, _, _ in sizes})
    request, answer = max((r, a) for _, r, a in sizes) if sizes else (0, 0)
    print(f"/explain calls: {len(sizes)}, statuses {statuses}; request {request:,} B, "
          f"answer {answer:,} B ({answer / max(request, 1):.1f}x)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

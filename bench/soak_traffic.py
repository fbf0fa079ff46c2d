"""The traffic of ``bench.soak``: the request mix, the batch CLI, slow clients and bad bodies.

Good traffic is ``bench.openloop`` (Poisson arrivals, latency from the scheduled time) in runs of
one soak minute, one process per class, so every minute has its own p50/p99 per class. The
batch CLI scores a file of reviews in its own process once a minute. Slow clients (a request head
that stalls, a body that stalls) and bad bodies (each must get a 4xx) run in threads.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.server import REPO

# (name, path, share of the requests, cost against one /predict of the default scoring). The
# capacity is measured with "single" (versions 3 and 4 score whole reviews by default): "last" reads
# one window instead of ~2.5, a batch of 4 costs 4.
CLASSES: list[tuple[str, str, float, float]] = [
    ("single", "/predict", 0.55, 1.0),
    ("single_whole", "/predict", 0.15, 1.0),
    ("single_last", "/predict", 0.15, 0.4),
    ("batch4", "/predict", 0.05, 4.0),
]


def request_rate(capacity: float, share: float) -> float:
    """Requests per second (all /predict classes) costing ``share`` of the capacity."""
    return share * capacity / sum(s * c for _, _, s, c in CLASSES)


EXPLAIN_RPS = 0.5  # /explain (gradient) on short reviews: heavy per request, a steady trickle
BAD_BODIES = [
    b"{not json",
    b'{"text": ""}',
    b'{"text": 42}',
    b'{"texts": []}',
    b'{"text": "ok", "scoring": "middle"}',
    b'{"text": "ok", "unknown": 1}',
    json.dumps({"text": "x" * 200_000}).encode(),
]


def write_bodies(texts: list[str], folder: Path) -> dict[str, Path]:
    """One JSONL file of request bodies per class."""
    shapes: dict[str, Any] = {
        "single": lambda i: {"text": texts[i]},
        "single_whole": lambda i: {"text": texts[i], "scoring": "whole"},
        "single_last": lambda i: {"text": texts[i], "scoring": "last"},
        "batch4": lambda i: {"texts": [texts[(i + k) % len(texts)] for k in range(4)]},
        "explain": lambda i: {"text": texts[i][:400]},
    }
    out = {}
    for name, shape in shapes.items():
        out[name] = folder / f"{name}.jsonl"
        out[name].write_text("".join(json.dumps(shape(i)) + "\n" for i in range(len(texts))))
    (folder / "batch_input.jsonl").write_text(
        "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(texts[:200]))
    )
    return out


def start_minute(
    port: int, bodies: dict[str, Path], rate: float, seconds: float, seed: int
) -> dict[str, subprocess.Popen[str]]:
    """One ``bench.openloop`` process per class for ``seconds``."""
    procs = {}
    plan = [(n, p, share * rate) for n, p, share, _ in CLASSES] + [
        ("explain", "/explain", EXPLAIN_RPS)
    ]
    for name, path, rps in plan:
        cmd = [sys.executable, "-m", "bench.openloop", "--url", f"http://127.0.0.1:{port}{path}"]
        cmd += ["--bodies", str(bodies[name]), "--rate", f"{rps:.3f}"]
        cmd += ["--seconds", str(seconds), "--seed", str(seed)]
        procs[name] = subprocess.Popen(
            cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    return procs


def finish_minute(procs: dict[str, subprocess.Popen[str]]) -> dict[str, dict[str, Any]]:
    out = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate()
        if proc.returncode != 0:
            out[name] = {"statuses": {"client_crash": 1}, "issued": 0, "error": stderr[-300:]}
        else:
            out[name] = json.loads(stdout)
    return out


def run_batch_cli(folder: Path, model_dir: Path) -> dict[str, Any]:
    """The batch CLI on 200 reviews (its own process and model): exit code and rows written."""
    out = folder / "batch_out.jsonl"
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "batch", str(folder / "batch_input.jsonl"), "-o", str(out),
         "--model-dir", str(model_dir), "--workers", "1", "-q"],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    rows = len(out.read_text().splitlines()) if out.exists() else 0
    return {"exit": proc.returncode, "rows": rows, "seconds": round(time.monotonic() - started, 1)}


@dataclass
class Hostile:
    """Slow clients and bad bodies in a thread; ``counts`` says what the server answered."""

    port: int
    header_bound_s: float
    counts: Counter[str]

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        i = 0
        while not self._stop.wait(1.0):
            i += 1
            self._bad_body(BAD_BODIES[i % len(BAD_BODIES)])
            if i % 10 == 0:  # a slow client every 10 s, in its own thread (it waits for a bound)
                threading.Thread(target=self._slow, args=(i % 20 == 0,), daemon=True).start()

    def _bad_body(self, body: bytes) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("POST", "/predict", body, {"content-type": "application/json"})
            status = conn.getresponse().status
            self.counts["bad_body_4xx" if 400 <= status < 500 else f"bad_body_{status}"] += 1
        except OSError as exc:
            self.counts[f"bad_body_{type(exc).__name__}"] += 1
        finally:
            conn.close()

    def _slow(self, body: bool) -> None:
        """A head (or a body) that stops half-way: the server must close it within the bound."""
        kind = "slow_body" if body else "slow_head"
        started = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=60) as sock:
                head = b"POST /predict HTTP/1.1\r\nHost: x\r\n"
                if body:
                    head += b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
                sock.sendall(head)
                while sock.recv(4096):  # until the server closes
                    pass
            closed = time.monotonic() - started
            self.counts[kind + ("_closed" if closed <= self.header_bound_s else "_late")] += 1
        except OSError as exc:
            self.counts[f"{kind}_{type(exc).__name__}"] += 1

"""Memory and time of hot model swaps on a real server (docs/operations.md "Model versions").

    .venv/bin/python -m bench.swap_memory [--swaps 6] [--poll 0.2] [--xla true|false]
                                          [--traffic none|predict|explain]

Serves a temporary ``MODEL_DIR`` holding version 2 (``MODEL_VERSIONS=latest``), then alternates:
version 3 renamed in (3 is loaded, becomes the default, 2 is unloaded), version 3 renamed away
(2 is loaded again, 3 unloaded). Per swap: the process RSS (``/proc/<pid>/status`` VmRSS, sampled
every 100 ms) just before, its peak during, and 1 s after the old version was unloaded; the time
from the rename to the new default, and to the unload. The baseline, measured in the same run,
is the RSS of the same process serving one model before the first swap; the ratios are against it.
By default an idle server (the load-bearing behaviour, zero failed requests, is
tests/process/test_hot_swap.py); ``--traffic predict`` / ``explain`` sends 4 ``/predict`` or 4
``/explain`` (gradient: the default version builds its explainer) calls before the baseline and
after every swap, so the two runs compare what ``/explain`` leaves behind across swaps.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from bench.server import REPO, Server, http_get

COMMITTED = REPO / "model_artifacts" / "imdb_lstm"


def _models(server: Server) -> dict[str, object]:
    body: dict[str, object] = json.loads(http_get(server.port, "/models")[1])
    return body


def _wait(server: Server, done: object, timeout_s: float = 300.0) -> float:
    assert callable(done)
    started = time.monotonic()
    while not done(_models(server)):
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"no switch in {timeout_s}s: {_models(server)}")
        time.sleep(0.02)
    return time.monotonic()


def traffic(server: Server, kind: str) -> None:
    body = json.dumps({"text": "A wonderful, moving film. I loved every minute of it."})
    for _ in range(4 if kind != "none" else 0):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        try:
            path = "/explain" if kind == "explain" else "/predict"
            conn.request("POST", path, body, {"content-type": "application/json"})
            response = conn.getresponse()
            response.read()
            assert response.status == 200, response.status
        finally:
            conn.close()


def swap(server: Server, model_dir: Path, to: str, kind: str = "none") -> dict[str, float]:
    before = server.rss_mib()
    first = len(server.rss_samples)
    started = time.monotonic()
    if to == "3":
        os.rename(model_dir / ".3", model_dir / "3")
    else:
        os.rename(model_dir / "3", model_dir / ".3")
    switched = _wait(server, lambda m: m["default_version"] == to)
    only = [{"version": to}]
    unloaded = _wait(server, lambda m: [{"version": v["version"]} for v in m["versions"]] == only)
    traffic(server, kind)
    time.sleep(1.0)
    return {
        "before": before,
        "peak": max(server.rss_samples[first:], default=before),
        "after": server.rss_mib(),
        "switch_s": switched - started,
        "unload_s": unloaded - started,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--swaps", type=int, default=6)
    ap.add_argument("--poll", type=float, default=0.2, help="MODEL_POLL_S")
    ap.add_argument("--xla", default="true", choices=["true", "false"])
    ap.add_argument("--traffic", default="none", choices=["none", "predict", "explain"])
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="swap-memory-") as tmp:
        model_dir = Path(tmp)
        shutil.copytree(COMMITTED / "2", model_dir / "2")
        shutil.copytree(COMMITTED / "3", model_dir / ".3")  # hidden: not a version yet
        env = {"MODEL_DIR": str(model_dir), "MODEL_POLL_S": str(args.poll), "XLA": args.xla}
        with Server("swap", "app.main:app", env) as server:
            traffic(server, args.traffic)
            time.sleep(2.0)
            baseline = server.rss_mib()
            rows = [
                swap(server, model_dir, "3" if i % 2 == 0 else "2", args.traffic)
                for i in range(args.swaps)
            ]
            hwm = server.peak_rss_mib()
    print(f"baseline (one model, before any swap): {baseline:.0f} MiB RSS; XLA={args.xla}; "
          f"traffic={args.traffic}")  # fmt: skip
    print("| swap | RSS before | peak during | 1 s after unload | peak / baseline | "
          "after / baseline | rename -> default | rename -> old unloaded |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for i, r in enumerate(rows, 1):
        print(
            f"| {i} ({'2->3' if i % 2 else '3->2'}) | {r['before']:.0f} MiB | {r['peak']:.0f} MiB "
            f"| {r['after']:.0f} MiB | {r['peak'] / baseline:.3f} | {r['after'] / baseline:.3f} "
            f"| {r['switch_s']:.1f} s | {r['unload_s']:.1f} s |"
        )
    growth = (rows[-1]["after"] - baseline) / len(rows)
    print(f"kernel high-water mark (VmHWM): {hwm:.0f} MiB; RSS growth {growth:+.1f} MiB per swap")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Measurement steps shared by ``bench.run`` and ``bench.sweep``: each is a separate process."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.server import REPO, Server, free_port


def loadgen(
    url: str, bodies: Path, concurrency: int, requests: int, max_seconds: float = 60.0
) -> dict[str, Any]:
    """One closed-loop run in a separate process; returns its JSON summary."""
    cmd = [
        sys.executable,
        "-m",
        "bench.loadgen",
        "--url",
        url,
        "--bodies",
        str(bodies),
        "-c",
        str(concurrency),
        "-n",
        str(requests),
        "--max-seconds",
        str(max_seconds),
    ]
    out = subprocess.run(
        cmd, cwd=REPO, check=True, capture_output=True, text=True, timeout=max_seconds + 120
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run_levels(
    server: Server, bodies: Path, levels: list[int], n_for, max_seconds: float, log=print
) -> list[dict[str, Any]]:
    """Drive ``server`` at each concurrency; attach mean batch size and RSS to each result."""
    rows = []
    for c in levels:
        s0, n0 = server.batch_stats()
        cpu0 = server.cpu_s()
        res = loadgen(server.url, bodies, c, n_for(c), max_seconds)
        cpu1 = server.cpu_s()
        s1, n1 = server.batch_stats()
        # Includes warm-up requests and a /metrics scrape: a slight over-estimate.
        res["server_cpu_ms_per_req"] = round((cpu1 - cpu0) * 1000 / max(res["completed"], 1), 3)
        res["mean_batch_size"] = round((s1 - s0) / (n1 - n0), 2) if n1 > n0 else None
        res["rss_mib_after"] = round(server.rss_mib(), 1)
        res["peak_rss_mib"] = round(server.peak_rss_mib(), 1)
        rows.append(res)
        lat = res["latency_ms"]
        log(
            f"  {server.name:<16} c={c:<4} {res['throughput_rps']:>8.1f} req/s  "
            f"p50={lat['p50']:.1f} p99={lat['p99']:.1f} ms  batch={res['mean_batch_size']}  "
            f"statuses={res['statuses']}  client_cpu={res['client_cpu_share']:.0%}"
        )
    return rows


def model_ceiling(model_dir: str, seconds: float, path: str = "signature") -> dict[str, Any]:
    cmd = [
        sys.executable,
        "-m",
        "bench.model_ceiling",
        "--model-dir",
        model_dir,
        "--seconds",
        str(seconds),
        "--path",
        path,
    ]
    out = subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, text=True, timeout=600)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def client_check(bodies: Path, requests: int) -> dict[str, Any]:
    """The load generator against a do-nothing server: the most it can ever measure."""
    port = free_port()
    null = subprocess.Popen(
        [sys.executable, "-m", "bench.loadgen", "--null-server", str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
    )
    try:
        assert null.stdout is not None
        null.stdout.readline()  # "ready"
        return loadgen(f"http://127.0.0.1:{port}/predict", bodies, 64, requests)
    finally:
        null.terminate()
        null.wait()


def hey_rps(url: str, body: bytes, concurrency: int, requests: int) -> float | None:
    """Cross-check with ``hey`` (Go) when it is installed: same endpoint, same concurrency."""
    if shutil.which("hey") is None:
        return None
    body_file = Path(REPO / "bench" / "results" / "hey-body.json.tmp")
    body_file.write_bytes(body)
    try:
        out = subprocess.run(
            [
                "hey",
                "-n",
                str(requests),
                "-c",
                str(concurrency),
                "-m",
                "POST",
                "-T",
                "application/json",
                "-D",
                str(body_file),
                url,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        ).stdout
    finally:
        body_file.unlink(missing_ok=True)
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(m.group(1)) if m else None


def machine_info() -> dict[str, Any]:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    import os

    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
        "python": sys.version.split()[0],
        "time": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }

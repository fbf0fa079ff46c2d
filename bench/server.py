"""Start a uvicorn app as a real subprocess, time it to ready, watch its memory, read its metrics."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from app import serve

REPO = Path(__file__).resolve().parent.parent
# Checkouts from before app/serve.py existed (bench.ab "before" snapshots) get the flags they
# were benchmarked with then.
LEGACY_UVICORN_FLAGS = [
    "--workers", "1", "--timeout-graceful-shutdown", "20", "--no-server-header", "--no-access-log",
]  # fmt: skip
READY_TIMEOUT_S = 120.0


def serve_command(cwd: Path, app: str, options: list[str]) -> list[str]:
    """The checkout's own serve entry point (``python -m app.serve``), as deployed."""
    if (cwd / "app" / "serve.py").exists():
        return serve.command(options, app)
    return [sys.executable, "-m", "uvicorn", app, *options, *LEGACY_UVICORN_FLAGS]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _status_kib(pid: int, key: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(rf"^{key}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


@dataclass
class Server:
    """A running service; ``rss_samples`` fills in the background (MiB, every 100 ms)."""

    name: str
    app: str
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    ready_s: float | None = None
    rss_samples: list[float] = field(default_factory=list)
    log_path: Path | None = None
    cwd: Path = REPO  # another checkout's root (e.g. a "before" snapshot for bench.ab)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Server:
        cmd = serve_command(self.cwd, self.app, ["--host", "127.0.0.1", "--port", str(self.port)])
        # Extra flags for experiments (e.g. bench.ab --env-after BENCH_UVICORN_ARGS=...).
        cmd += self.env.get("BENCH_UVICORN_ARGS", "").split()
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **self.env}
        fd, log = tempfile.mkstemp(prefix=f"bench-{self.name}-", suffix=".log")
        self.log_path = Path(log)
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, cwd=self.cwd, env=env, stdout=fd, stderr=fd)
        os.close(fd)
        threading.Thread(target=self._sample_rss, daemon=True).start()
        while time.perf_counter() - t0 < READY_TIMEOUT_S:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited early; log: {self.log_path}\n"
                    + self.log_path.read_text()[-3000:]
                )
            try:
                if http_get(self.port, "/readyz", timeout=1.0)[0] == 200:
                    self.ready_s = time.perf_counter() - t0
                    return self
            except OSError:
                pass
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {READY_TIMEOUT_S}s; log: {self.log_path}")

    def _sample_rss(self) -> None:
        while not self._stop.is_set() and self.proc is not None and self.proc.poll() is None:
            kib = _status_kib(self.proc.pid, "VmRSS")
            if kib:
                self.rss_samples.append(kib / 1024)
            time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/predict"

    def rss_mib(self) -> float:
        return _status_kib(self.proc.pid, "VmRSS") / 1024 if self.proc else 0.0

    def cpu_s(self) -> float:
        """CPU seconds (user + system, all threads) used so far: per-request CPU cost is far
        less sensitive to other jobs on the machine than wall-clock throughput."""
        if self.proc is None:
            return 0.0
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mib(self) -> float:
        """The kernel's high-water mark: catches peaks between two samples."""
        return _status_kib(self.proc.pid, "VmHWM") / 1024 if self.proc else 0.0

    def batch_stats(self) -> tuple[float, float]:
        """(sum, count) of the ``sentiment_batch_size`` histogram; (0, 0) if not exported."""
        try:
            status, body = http_get(self.port, "/metrics")
        except OSError:
            return 0.0, 0.0
        if status != 200:
            return 0.0, 0.0
        text = body.decode()
        values = []
        for suffix in ("sum", "count"):
            m = re.search(rf"^sentiment_batch_size_{suffix}\s+(\S+)$", text, re.MULTILINE)
            values.append(float(m.group(1)) if m else 0.0)
        return values[0], values[1]

    def stop(self) -> None:
        self._stop.set()
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

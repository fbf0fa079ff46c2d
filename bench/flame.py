"""Where the event loop's time per request goes: py-spy's collapsed stacks, split by thread and
sorted into the request path's stages, scaled by the loop thread's own CPU per request.

``bench.profile`` feeds it; the stage table in docs/performance.md is its output.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

# Stage rules, tried on each sample's frames from the leaf upwards: the first frame that matches
# a rule names the stage (json.loads called by FastAPI is "body parse", not "FastAPI").
# ``Runner.run`` itself is the leaf when uvloop's C code runs (socket reads and writes, epoll,
# callback scheduling): py-spy sees no Python frame below it.
SPECIFIC: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("tokenize + cut windows", ("model_contract/tokenizer.py", "model_contract/latin1.py",
                                "model_contract/normalize.py", "model_contract/windows.py")),
    ("readability verdicts", ("model_contract/readability.py", "app/unreadable.py")),
    ("metrics (prometheus_client)", ("prometheus_client/", "app/metrics.py", "app/fastpath_metrics")),
    ("batcher submit / futures / delivery", ("app/batcher.py", "app/model_server.py")),
    ("combine + labels (service)", ("app/service.py", "model_contract/scoring.py")),
    ("body parse + validation (json, pydantic)", ("json/", "pydantic", "app/schemas.py",
                                                  "app/guards.py", "app/fastpath")),
    ("predict handler (response build + JSON)", ("app/routes.py",)),
    ("request middleware (ids, logging, limits)", ("app/middleware.py", "app/httputil.py",
                                                   "logging/", "app/logging_setup.py")),
)  # fmt: skip
GENERIC: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("FastAPI/Starlette routing + wrappers", ("fastapi/", "starlette/", "anyio/")),
    ("uvicorn HTTP protocol (parse, send, timers)", ("uvicorn/", "app/protocol.py", "httptools")),
    ("uvloop/asyncio (I/O syscalls, callbacks, tasks)", ("asyncio/", "selectors.py", "uvloop")),
)
OTHER = "other"
STAGES = [name for name, _ in SPECIFIC + GENERIC] + [OTHER]


def _file(frame: str) -> str:
    return frame.rpartition("(")[2]


def stage_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        path = _file(frame)
        for name, needles in SPECIFIC + GENERIC:
            if any(n in path for n in needles):
                return name
    return OTHER


def thread_of(frames: list[str]) -> str:
    """``loop`` (the main thread running asyncio), ``model`` (the batcher's thread) or ``other``."""
    files = ";".join(frames)
    if "Batcher._work" in files:
        return "model"
    if "asyncio/runners.py" in files or "uvicorn/server.py" in files:
        return "loop"
    return "other"


def split(raw: str) -> tuple[Counter[str], Counter[str]]:
    """(samples per thread, loop samples per stage) from ``py-spy record --format raw``."""
    threads: Counter[str] = Counter()
    stages: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        thread = thread_of(frames)
        threads[thread] += int(count)
        if thread == "loop":
            stages[stage_of(frames)] += int(count)
    return threads, stages


def thread_cpu_s(pid: int) -> tuple[float, float]:
    """(main thread, whole process) CPU seconds so far: the main thread is the event loop."""
    tick = os.sysconf("SC_CLK_TCK")

    def read(path: Path) -> float:
        try:
            fields = path.read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / tick

    return read(Path(f"/proc/{pid}/task/{pid}/stat")), read(Path(f"/proc/{pid}/stat"))


def table(stages: Counter[str], loop_ms_per_req: float) -> str:
    """Markdown: each stage's share of the loop's samples and its µs per request."""
    total = sum(stages.values()) or 1
    lines = ["| stage (event-loop thread) | share of loop samples | µs per request |",
             "|---|---:|---:|"]  # fmt: skip
    for name in STAGES:
        share = stages.get(name, 0) / total
        lines.append(f"| {name} | {share:.1%} | {share * loop_ms_per_req * 1000:.0f} |")
    lines.append(f"| **loop total** | 100% | **{loop_ms_per_req * 1000:.0f}** |")
    return "\n".join(lines)

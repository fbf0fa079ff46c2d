"""How a process starts TensorFlow: thread pools sized, and the import's C++ chatter filtered.

The service and the batch-scoring CLI both call these before their first ``import tensorflow``
(``model_contract.runner`` triggers it), so they live below both.

- ``configure_threads``: one intra-op thread fewer than the usable cores (measured for serving in
  docs/performance.md: the event loop keeps a core), one inter-op thread;
- ``quiet_tensorflow``: TensorFlow's C++ start-up lines (``I0000 ...``, oneDNN, absl, XLA) below
  ``TF_CPP_MIN_LOG_LEVEL`` (default 2, errors only) are dropped; ``TF_CPP_MIN_LOG_LEVEL=0`` brings
  them all back.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

# TensorFlow's C++ logging: 0 all, 1 no INFO, 2 no INFO/WARNING, 3 no ERROR either. 2 keeps errors.
TF_CPP_MIN_LOG_LEVEL_DEFAULT = "2"


def configure_threads() -> None:
    """Size TensorFlow's thread pools; must run before TensorFlow is first imported.

    Explicitly set ``TF_NUM_INTRAOP_THREADS`` / ``TF_NUM_INTEROP_THREADS`` still win.
    """
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:  # pragma: no cover - macOS
        cores = os.cpu_count() or 2
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(max(1, cores - 1)))
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")


@contextmanager
def quiet_tensorflow() -> Iterator[None]:
    """Wrap ``import tensorflow``: its C++ log lines below ``TF_CPP_MIN_LOG_LEVEL`` are dropped.

    The level defaults to 2 (errors only); an explicitly set value wins, so
    ``TF_CPP_MIN_LOG_LEVEL=0`` shows everything. TensorFlow applies the level itself from then on,
    but some lines (oneDNN's notice, absl's pre-init warning) are written while its libraries load,
    before it reads the variable. So during the import file descriptor 2 feeds a small filter
    process (``python -m model_contract.tf_process``) that passes every other line on at once - a fatal
    message right before an abort included, which an in-process reader could not pass on.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", TF_CPP_MIN_LOG_LEVEL_DEFAULT)
    min_level = _int_or_zero(os.environ["TF_CPP_MIN_LOG_LEVEL"])
    if min_level <= 0:
        yield
        return
    sys.stderr.flush()
    stderr = os.dup(2)
    root = str(Path(__file__).resolve().parent.parent)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [root, os.getenv("PYTHONPATH")])),
    }
    try:
        filt = subprocess.Popen(
            [sys.executable, "-m", "model_contract.tf_process", str(min_level)],
            stdin=subprocess.PIPE, stdout=stderr, env=env,
        )  # fmt: skip
    except OSError:  # no interpreter to spawn: unfiltered rather than no import
        os.close(stderr)
        yield
        return
    assert filt.stdin is not None
    os.dup2(filt.stdin.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(stderr, 2)
        os.close(stderr)
        filt.stdin.close()  # the filter reads to the end, then exits
        # (a child process started meanwhile may still hold the pipe: then leave the filter be)
        with suppress(subprocess.TimeoutExpired):
            filt.wait(timeout=10)


def _int_or_zero(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


def _filter_stream(src: IO[bytes], dst_fd: int, min_level: int) -> None:
    for line in src:
        if _keep_tf_line(line, min_level):
            os.write(dst_fd, line)


# absl's line prefix, e.g. "I0000 00:00:1796015692.802463   11778 port.cc:153] "
_ABSL_LINE = re.compile(rb"([IWEF])\d{4} [\d:.]+ +\d+ [^\]\s]+\] ")
_ABSL_PREINIT = b"WARNING: All log messages before absl::InitializeLog() is called"
_ABSL_SEVERITY = {b"I": 0, b"W": 1, b"E": 2, b"F": 3}


def _keep_tf_line(line: bytes, min_level: int) -> bool:
    if line.startswith(_ABSL_PREINIT):
        return min_level < 1
    match = _ABSL_LINE.match(line)
    return match is None or _ABSL_SEVERITY[match.group(1)] >= min_level


if __name__ == "__main__":  # the stderr filter process of quiet_tensorflow()
    _filter_stream(sys.stdin.buffer, sys.stdout.fileno(), _int_or_zero(sys.argv[1]))

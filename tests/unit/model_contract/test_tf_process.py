"""model_contract/tf_process.py: TensorFlow's thread pools sized from the CPUs we may use, and its
C++ start-up lines filtered on file descriptor 2 (a fatal line before an abort still gets through)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from model_contract.tf_process import _keep_tf_line, configure_threads, quiet_tensorflow

ROOT = Path(__file__).resolve().parents[3]
THREAD_VARS = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


@pytest.fixture
def no_thread_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in THREAD_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(("cores", "intra"), [(1, "1"), (2, "1"), (4, "3"), (16, "15")])
@pytest.mark.usefixtures("no_thread_env")
def test_one_core_is_left_to_the_event_loop(
    monkeypatch: pytest.MonkeyPatch, cores: int, intra: str
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    configure_threads()
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == intra
    assert os.environ["TF_NUM_INTEROP_THREADS"] == "1"


@pytest.mark.usefixtures("no_thread_env")
def test_explicit_settings_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "7")
    monkeypatch.setenv("TF_NUM_INTEROP_THREADS", "2")
    configure_threads()
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == "7"
    assert os.environ["TF_NUM_INTEROP_THREADS"] == "2"


@pytest.mark.usefixtures("no_thread_env")
def test_the_cpu_affinity_counts_not_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    # A container limited to 3 of 64 CPUs (cpuset) must not start 63 threads.
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {5, 6, 7}, raising=False)
    configure_threads()
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == "2"


ONEDNN = (
    b"I0000 00:00:1796015692.802463   11778 port.cc:153] oneDNN custom operations are on. You may "
    b"see slightly different numerical results.\n"
)
PREINIT = (
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
)
WARN = b"W0000 00:00:1796015692.9   11778 cuda_executor.cc:1] could not open file\n"
ERROR = b"E0000 00:00:1796015693.1   11778 cuda_dnn.cc:8579] Unable to register cuDNN factory\n"
FATAL = b"F0000 00:00:1796015693.2   11778 cpu_feature_guard.cc:9] The TensorFlow library was...\n"
PYTHON_WARNING = b"/x/keras/src/export.py:12: UserWarning: something\n"


@pytest.mark.parametrize(
    ("line", "kept_from_level"),
    [
        (ONEDNN, 0),
        (PREINIT, 0),
        (WARN, 1),
        (ERROR, 2),
        (FATAL, 3),
        (PYTHON_WARNING, 3),
        (b"x\n", 3),
    ],
)
def test_tf_lines_below_the_level_are_dropped(line: bytes, kept_from_level: int) -> None:
    # kept at every level <= kept_from_level, dropped above it; non-TF lines always kept
    for level in range(4):
        assert _keep_tf_line(line, level) == (level <= kept_from_level), (line, level)


def _through_fd2(*chunks: bytes) -> None:
    with quiet_tensorflow():
        for chunk in chunks:  # as TensorFlow's C++ code writes: to file descriptor 2 directly
            os.write(2, chunk)


def test_quiet_tensorflow_filters_fd2_by_default(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    _through_fd2(PREINIT, ONEDNN, WARN, ERROR, PYTHON_WARNING)
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "2"  # the default, set for TensorFlow itself
    err = capfd.readouterr().err.encode()
    assert err == ERROR + PYTHON_WARNING


def test_tf_cpp_min_log_level_0_brings_everything_back(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    _through_fd2(PREINIT, ONEDNN, WARN)
    assert capfd.readouterr().err.encode() == PREINIT + ONEDNN + WARN


def test_quiet_tensorflow_replays_what_it_keeps_when_the_import_fails(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")

    def failing_import() -> None:
        with quiet_tensorflow():
            os.write(2, ONEDNN + ERROR)
            raise ImportError("no tensorflow")

    with pytest.raises(ImportError):
        failing_import()
    assert capfd.readouterr().err.encode() == ERROR


def test_a_fatal_line_before_an_abort_still_gets_through(tmp_path: Path) -> None:
    # As TensorFlow does on a CPU without the instructions it was built for: LOG(FATAL), abort().
    code = (
        "import os\n"
        "from model_contract.tf_process import quiet_tensorflow\n"
        "with quiet_tensorflow():\n"
        f"    os.write(2, {ONEDNN + FATAL!r})\n"
        "    os.abort()\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert result.returncode != 0
    assert result.stderr == FATAL

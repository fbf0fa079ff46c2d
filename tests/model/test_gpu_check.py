"""``bench.gpu_check`` (``make gpu-check``): skipped here, and its GPU branch with injected devices.

No GPU here, so in the GPU-branch tests the GPU-only steps are stubbed (``tests/fake_gpu.py``):
the device list is injected, ``cudnn.uses_cudnn`` answers True for the rebuilt network run on this
CPU, and the child's placement log is a canned line in TensorFlow's format. The log mechanism
itself is exercised for real by running the probe child on the CPU.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import gpu_check
from model_contract import cudnn
from tests.fake_gpu import FAKE_GPUS, cpu_traced_builder, forced_builder, no_memory_growth
from tests.model.conftest import MODEL_DIR, SAMPLE

ROOT = Path(__file__).resolve().parents[2]
GPU_LINE = (
    "imdb_lstm_1/lstm_1/CudnnRNNV3: (CudnnRNNV3): /job:localhost/replica:0/task:0/device:GPU:0\n"
)
QUICK = ["--batches", "1", "8", "--seconds", "0.03", "--reviews", "16", "--version", "3"]


def _run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, **hooks: Any
) -> tuple[int, str]:
    no_memory_growth(monkeypatch)
    monkeypatch.setenv("IMDB_DATA", str(SAMPLE))  # bench.reviews: the committed sample
    defaults: dict[str, Any] = {
        "list_gpus": lambda: FAKE_GPUS,
        "cudnn_builder": cpu_traced_builder,
        "placement_log": lambda path: GPU_LINE,
    }
    rc = gpu_check.main(QUICK, gpu_check.Hooks(**(defaults | hooks)))
    return rc, capsys.readouterr().out


def test_no_gpu_visible_is_skipped_with_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert gpu_check.main([]) == 0
    assert capsys.readouterr().out.strip() == gpu_check.SKIPPED


def test_the_script_ends_skipped_here() -> None:
    if shutil.which("nvidia-smi"):  # a GPU host would install .venv-gpu: run `make gpu-check`
        pytest.skip("nvidia-smi present: the script's GPU branch is for make gpu-check")
    env = {**os.environ, "VENV": sys.prefix}  # the venv running these tests
    result = subprocess.run(
        [str(ROOT / "scripts" / "gpu_check.sh")], cwd=ROOT, capture_output=True, text=True,
        timeout=600, check=False, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1] == gpu_check.SKIPPED


def test_gpu_branch_passes_with_injected_devices(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cudnn, "uses_cudnn", lambda fn: True)  # stub: see module doc
    rc, out = _run(capsys, monkeypatch)
    assert rc == 0, out
    assert "1. TensorFlow sees 1 GPU(s)" in out
    assert "2. runner on /GPU:0: kernel 'cudnn'" in out
    assert "3. placement log: CudnnRNNV3 on /job:localhost/replica:0/task:0/device:GPU:0" in out
    assert "4. max |GPU cuDNN - CPU xla-cpu| =" in out and "on 16 reviews" in out
    table = [line for line in out.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| batch | CPU xla-cpu ms/call | GPU savedmodel loop ms/call")
    assert [row.split(" | ")[0] for row in table[1:]] == ["| 1", "| 8"]
    assert out.strip().endswith("matches the CPU path")


def test_gpu_branch_fails_without_cudnn_in_the_placement_log(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cudnn, "uses_cudnn", lambda fn: True)
    cpu_line = "x/MatMul: (MatMul): /job:localhost/replica:0/task:0/device:GPU:0\n"
    rc, out = _run(capsys, monkeypatch, placement_log=lambda path: cpu_line)
    assert rc == 1 and "FAIL: the placement log shows no CudnnRNN* op on a GPU" in out


def test_gpu_branch_fails_when_the_runner_falls_back(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rc, out = _run(capsys, monkeypatch, cudnn_builder=forced_builder)  # cannot run here
    assert rc == 1 and "FAIL: the GPU runner serves 'savedmodel', not 'cudnn'" in out


def test_placement_probe_child_logs_real_placements_on_cpu() -> None:
    """The real child and TensorFlow's real log, on the CPU: ops are found, no cuDNN on a GPU."""
    log = gpu_check.run_placement_probe(MODEL_DIR / "3", "/CPU:0")
    assert "probe ok" in log and "probe exit code 0" in log
    found = gpu_check.placements(log)
    assert any(op == "MatMul" and dev.endswith("device:CPU:0") for op, dev in found), log[-2000:]
    assert gpu_check.cudnn_on_gpu(log) == []
    assert gpu_check.cudnn_on_gpu(log + "I0000 00:00:1.0 1 placer.cc:162] " + GPU_LINE) == [
        "CudnnRNNV3 on /job:localhost/replica:0/task:0/device:GPU:0"
    ]

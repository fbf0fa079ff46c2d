"""Is the service's GPU path real on this machine? (``make gpu-check``, ``scripts/gpu_check.sh``)

For a person with an NVIDIA GPU. Each step prints a line; a failed one prints ``FAIL: ...`` and
the check exits 1.

1. TensorFlow sees a GPU. If not: ``no GPU visible: skipped``, exit 0, nothing else runs.
2. The service's runner on ``/GPU:0`` (``model_contract.runner.ModelRunner``, as the service
   builds it) adopts the cuDNN function at warm-up: ``kernel == "cudnn"``, i.e. its graph holds
   the cuDNN op and it equals the SavedModel within 1e-5 on the artifact's golden examples.
3. The cuDNN op ran on the GPU: a child process (``--placement-probe``) calls the GPU function
   with TensorFlow's device-placement log on (it must be on before TensorFlow starts, hence the
   child); the log must place a ``CudnnRNN*`` op on a GPU. (The op has no CPU kernel either.)
4. Its outputs equal the CPU path's (XLA on ``/CPU:0``, as served on a CPU) within 1e-5 on real
   reviews.
5. Throughput, batches 1/64/256/1024, the paths interleaved round by round: the CPU path, the
   SavedModel's generic loop on the GPU, and the cuDNN function; ms per call and the ratios.

    python -m bench.gpu_check [--model-dir DIR] [--version N] [--batches 1 64 256 1024]

The GPU branch is tested on a CPU (tests/model/test_gpu_check.py) with an injected device list
and the GPU-only steps stubbed (``Hooks``); it has not been run on real hardware here.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from model_contract import cudnn
from model_contract.artifact import load_artifact
from model_contract.policy import BatchPolicy
from model_contract.runner import CudnnBuilder, ModelRunner, choose_device
from model_contract.savedmodel import ServingSignature

REPO = Path(__file__).resolve().parent.parent
SKIPPED = "no GPU visible: skipped"
# "<node>: (<OpType>): /job:localhost/replica:0/task:0/device:GPU:0" (TensorFlow's placer log)
_PLACEMENT = re.compile(r"(?:^|\] )(\S+): \((\w+)\): (\S*device:\w+:\d+)\s*$", re.MULTILINE)


def run_placement_probe(artifact_path: Path, device: str = "/GPU:0") -> str:
    """stdout + stderr of a child that runs the GPU function with the placement log on."""
    cmd = [sys.executable, "-m", "bench.gpu_check", "--placement-probe", str(artifact_path)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0", "PROBE_DEVICE": device}
    result = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    return result.stdout + result.stderr + f"\nprobe exit code {result.returncode}\n"


def _probe(artifact_path: Path, device: str) -> int:
    tf.debugging.set_log_device_placement(True)  # before TensorFlow's context starts
    path = Path(artifact_path)
    fn = cudnn.build_cudnn_function(path, int(cudnn.golden_ids(path).shape[1]), device)
    with tf.device(device):
        fn(tf.constant(cudnn.golden_ids(path)))
    print("probe ok", flush=True)
    return 0


def placements(log: str) -> set[tuple[str, str]]:
    """{(op type, device)} from a placement log."""
    return {(m.group(2), m.group(3)) for m in _PLACEMENT.finditer(log)}


def cudnn_on_gpu(log: str) -> list[str]:
    return sorted(
        f"{op} on {dev}"
        for op, dev in placements(log)
        if op.startswith(cudnn.CUDNN_OP_PREFIX) and "device:GPU:" in dev
    )


@dataclass
class Hooks:
    """The GPU-only steps, replaceable by tests (no GPU on the project's machines)."""

    list_gpus: Callable[[], Sequence[Any]] = lambda: tf.config.list_physical_devices("GPU")
    cudnn_builder: CudnnBuilder = cudnn.build_cudnn_function
    placement_log: Callable[[Path], str] = run_placement_probe


class CheckFailed(Exception):
    pass


def _ms_per_call(fn: Callable[[Any], Any], x: Any, seconds: float) -> list[float]:
    times: list[float] = []
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end or len(times) < 3:
        t0 = time.perf_counter()
        fn(x)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def throughput(
    paths: dict[str, Callable[[Any], Any]], ids: np.ndarray, batches: Sequence[int], seconds: float
) -> list[dict[str, Any]]:
    """Median ms per call per path and batch; paths alternate order over 3 rounds."""
    rows = []
    for b in batches:
        x = np.resize(ids, (b, ids.shape[1])).astype(np.int32)  # reviews repeated if too few
        times: dict[str, list[float]] = {name: [] for name in paths}
        for fn in paths.values():
            fn(x)  # first call of this shape: kernel selection, allocation
        for r in range(3):
            order = list(paths.items()) if r % 2 == 0 else list(paths.items())[::-1]
            for name, fn in order:
                times[name] += _ms_per_call(fn, x, seconds / 3)
        rows.append({"batch": b} | {name: statistics.median(t) for name, t in times.items()})
    return rows


def print_table(rows: list[dict[str, Any]], names: list[str]) -> None:
    cpu, gpu = names[0], names[-1]
    print(
        "| batch | "
        + " | ".join(f"{n} ms/call" for n in names)
        + f" | {gpu} rows/s | {cpu} / {gpu} |"
    )
    print("|---:|" + "---:|" * (len(names) + 2))
    for row in rows:
        cells = " | ".join(f"{row[n]:.3f}" for n in names)
        print(
            f"| {row['batch']} | {cells} | {row['batch'] / row[gpu] * 1000:,.0f} | {row[cpu] / row[gpu]:.2f}x |"
        )


def check(args: argparse.Namespace, hooks: Hooks) -> None:
    gpus = list(hooks.list_gpus())
    build = tf.sysconfig.get_build_info()
    wanted = ("is_cuda_build", "cuda_version", "cudnn_version")
    print(f"tensorflow {tf.__version__}: " + ", ".join(f"{k}={build.get(k)}" for k in wanted))
    print(f"1. TensorFlow sees {len(gpus)} GPU(s): {[getattr(g, 'name', g) for g in gpus]}")
    artifact = load_artifact(args.model_dir, args.version)
    path, maxlen = artifact.path, artifact.tokenizer.config.maxlen
    device = choose_device(gpus)
    big = BatchPolicy(max_batch_size=max(args.batches), warmup_repeats=1)
    gpu = ModelRunner(path, maxlen, big, device, cudnn_builder=hooks.cudnn_builder)
    gpu.warmup()
    if gpu.kernel != cudnn.KERNEL_CUDNN:
        raise CheckFailed(
            f"the GPU runner serves {gpu.kernel!r}, not 'cudnn' (its warning above says why)"
        )
    print(
        f"2. runner on {device}: kernel 'cudnn' (cuDNN op in the graph, equal to the SavedModel within 1e-5)"
    )
    log = hooks.placement_log(path)
    found = cudnn_on_gpu(log)
    if not found:
        raise CheckFailed(
            f"the placement log shows no CudnnRNN* op on a GPU; its tail:\n{log[-3000:]}"
        )
    print(f"3. placement log: {', '.join(found)}")
    cpu = ModelRunner(path, maxlen, big, "/CPU:0")
    cpu.warmup()
    texts, source = _reviews(args.reviews)
    ids = artifact.tokenizer.encode_batch(texts)
    step = max(args.batches)
    diff = max(
        float(np.max(np.abs(gpu.predict(ids[i : i + step]) - cpu.predict(ids[i : i + step]))))
        for i in range(0, len(ids), step)
    )
    if not diff <= cudnn.PARITY_ATOL:
        raise CheckFailed(f"GPU outputs differ from the CPU path by {diff:.3g} > 1e-5")
    print(f"4. max |GPU cuDNN - CPU {cpu.kernel}| = {diff:.2e} on {len(ids)} reviews ({source})")
    loop = ServingSignature(path, maxlen, device)

    def loop_on_gpu(x: np.ndarray) -> Any:
        with tf.device(device):
            return loop.predict(x)

    paths = {
        f"CPU {cpu.kernel}": cpu.predict,
        "GPU savedmodel loop": loop_on_gpu,
        "GPU cudnn": gpu.predict,
    }
    print(
        f"5. throughput ({args.seconds:g} s per path and batch, interleaved; CPU: this process's TF threads)"
    )
    print_table(throughput(paths, ids, args.batches, args.seconds), list(paths))


def _reviews(n: int) -> tuple[list[str], str]:
    from bench.reviews import load_reviews

    return load_reviews(n)


def main(argv: list[str] | None = None, hooks: Hooks | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", type=Path, default=REPO / "model_artifacts" / "imdb_lstm")
    ap.add_argument("--version", type=int, default=None, help="default: the newest")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 64, 256, 1024])
    ap.add_argument("--seconds", type=float, default=3.0, help="timed seconds per path and batch")
    ap.add_argument("--reviews", type=int, default=2048, help="real reviews for the parity check")
    ap.add_argument("--placement-probe", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.placement_probe is not None:
        return _probe(args.placement_probe, os.environ.get("PROBE_DEVICE", "/GPU:0"))
    hooks = hooks or Hooks()
    if not list(hooks.list_gpus()):
        print(SKIPPED)
        return 0
    try:
        check(args, hooks)
    except CheckFailed as exc:
        print(f"FAIL: {exc}")
        return 1
    print("OK: the GPU path runs the cuDNN kernel and matches the CPU path")
    return 0


if __name__ == "__main__":
    sys.exit(main())

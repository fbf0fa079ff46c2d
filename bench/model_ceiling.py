"""Model-only ceiling: the model called in-process, no HTTP, no queue.

Two paths, each in its own process (TensorFlow's thread pools are fixed at import):

- ``signature``: the SavedModel's ``serving_default`` signature with TensorFlow's default
  threads (every core) - the issue's definition of the compute ceiling;
- ``service``: exactly what the service's model thread calls - ``model_contract.runner.ModelRunner``
  with the service's defaults (XLA on a CPU, padded batch sizes, one intra-op thread).

    python -m bench.model_ceiling --model-dir model_artifacts/imdb_lstm --batches 1 64 256 \
        [--path signature|service]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench.reviews import load_reviews
from model_contract.artifact import load_artifact


def measure(fn, x, seconds: float, min_calls: int = 20) -> dict[str, Any]:
    """Call ``fn`` on one fixed batch until ``seconds`` have passed; per-call times in ms."""
    times: list[float] = []
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end or len(times) < min_calls:
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    times.sort()
    total = sum(times)
    return {
        "calls": len(times),
        "ms_per_call_p50": statistics.median(times) * 1000,
        "ms_per_call_p99": times[min(len(times) - 1, int(0.99 * len(times)))] * 1000,
        "reviews_per_s": len(times) * len(x) / total,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", type=Path, required=True)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 64, 256])
    ap.add_argument("--seconds", type=float, default=4.0, help="timed seconds per batch size")
    ap.add_argument("--path", choices=["signature", "service"], default="signature")
    args = ap.parse_args(argv)

    artifact = load_artifact(args.model_dir)
    texts, _ = load_reviews(max(args.batches))
    call = _service_call(artifact, max(args.batches)) if args.path == "service" else None
    if call is None:
        call = _signature_call(artifact)
    results: dict[str, Any] = {}
    for b in args.batches:
        x = artifact.tokenizer.encode_batch(texts[:b])
        measure(call, x, seconds=0.5, min_calls=5)  # warm-up: first calls trace/allocate
        results[str(b)] = measure(call, x, seconds=args.seconds)
    # Tokenisation is part of every request's cost; measured here so its share is visible.
    t0 = time.perf_counter()
    artifact.tokenizer.encode_batch(texts[:256])
    results["tokenize_us_per_review"] = (time.perf_counter() - t0) / 256 * 1e6
    json.dump(results, sys.stdout)
    sys.stdout.write("\n")


def _signature_call(artifact: Any) -> Any:
    from model_contract.savedmodel import ServingSignature

    # numpy in, numpy out: the conversions are part of any caller's cost, the service's too.
    return ServingSignature(artifact.path, artifact.tokenizer.config.maxlen).predict


def _service_call(artifact: Any, max_batch_size: int) -> Any:
    from dataclasses import replace

    from app.config import Settings
    from model_contract.tf_process import configure_threads

    configure_threads()  # the service's TensorFlow thread pools (before TensorFlow's import)
    from model_contract.runner import ModelRunner

    policy = replace(Settings().batch_policy, max_batch_size=max_batch_size, warmup_repeats=1)
    runner = ModelRunner(artifact.path, artifact.tokenizer.config.maxlen, policy)
    runner.warmup()  # compiles every padded size, as the service does before ready
    return runner.predict


if __name__ == "__main__":
    main()

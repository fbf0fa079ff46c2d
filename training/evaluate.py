"""Re-score an exported artifact on the IMDB test set and print its metrics table.

    python -m training.evaluate --data ../shared/data/aclImdb_v1_labeled.tar.gz
    python -m training.evaluate --model-dir model_artifacts/imdb_lstm --version 1 --json out.json

Scores through the service's own ``ModelRunner`` (the SavedModel signature, XLA-compiled on a CPU),
the artifact's tokenizer files and its scoring policy (windows, combination, calibration) - the path
the service takes - so it also proves the artifact is self-contained.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from model_contract.artifact import ArtifactError, load_artifact
from model_contract.policy import BatchPolicy
from training.data import DatasetError, load_imdb
from training.evaluation import format_table
from training.options import command_parser
from training.student import chunked, mode_metrics, score_reviews

DEFAULT_MODEL_DIR = Path("model_artifacts/imdb_lstm")
SCORE_BATCH = 512


def evaluate(model_dir: Path, version: int | None, data: str | None) -> dict[str, Any]:
    """Both scoring modes on the test set, calibrated as the artifact says; ``test`` = default."""
    from model_contract.runner import (
        ModelRunner,  # the service's runner: same graph, same XLA shapes
    )

    artifact = load_artifact(model_dir, version)
    test = load_imdb(data).test
    policy = artifact.scoring
    batching = BatchPolicy(max_batch_size=SCORE_BATCH, warmup_repeats=1)
    runner = ModelRunner(artifact.path, artifact.tokenizer.config.maxlen, batching)

    predict = chunked(runner.predict, SCORE_BATCH)
    scores = score_reviews(
        predict, artifact.tokenizer, test.texts, policy.stride, policy.max_windows
    )
    modes = mode_metrics(scores, test.labels, policy)
    return {
        "version": artifact.version,
        "default_scoring": policy.default_mode,
        "test": modes[policy.default_mode],
        "test_modes": modes,
    }


def main(argv: list[str] | None = None) -> int:
    p = command_parser("python -m training.evaluate", __doc__)
    p.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    p.add_argument("--version", type=int, help="default: highest version")
    p.add_argument("--json", type=Path, help="also write the metrics here")
    args = p.parse_args(argv)
    try:
        result = evaluate(args.model_dir, args.version, args.data)
    except (ArtifactError, DatasetError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    artifact_metrics = load_artifact(args.model_dir, result["version"]).metrics
    rows = {
        f"LSTM v{result['version']} ({mode}, re-scored)": result["test_modes"][mode]
        for mode in ("whole", "last")
    }
    rows |= artifact_metrics.get("baselines", {})
    print(format_table(rows))
    cm = result["test"]["confusion_matrix"]
    print(f"\nn={result['test']['n']}  TN={cm['tn']} FP={cm['fp']} FN={cm['fn']} TP={cm['tp']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

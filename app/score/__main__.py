"""Deprecated entry point: ``python -m app.score`` forwards to ``python -m batch`` (the batch CLI
moved to its own package, ``batch/``). Kept for one release so existing scripts keep working;
``sentiment-score`` and ``python -m batch`` are the names to use. A package rather than a module
``app/score.py``, so that git follows the old module to its new place, ``batch/cli.py``."""

from __future__ import annotations

import sys

NOTICE = (
    "sentiment-score: 'python -m app.score' is deprecated and will be removed in the next "
    "release; use 'python -m batch' or 'sentiment-score' (same arguments)"
)

if __name__ == "__main__":
    print(NOTICE, file=sys.stderr, flush=True)
    from batch.cli import cli

    cli()

"""``python -m batch``: the batch-scoring CLI (``sentiment-score``)."""

from batch.cli import cli

if __name__ == "__main__":
    cli()

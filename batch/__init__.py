"""Batch scoring without HTTP: ``sentiment-score`` / ``python -m batch`` (docs/batch.md).

Stands on ``model_contract`` alone (the artifact, tokenizer, runner and the settings it shares with
the service); it imports neither FastAPI nor ``app``. Modules:

- ``cli``: arguments, settings, exit status; ``run``: the pipeline (input, model, output);
- ``workers``: scoring processes for ``--workers N``; ``formats``, ``csv_reader``: streaming readers
  and writers; ``progress``: the progress line on stderr.
"""

"""The process group: tests that start real ``python -m app.serve`` / ``python -m batch`` processes.

Every test here carries the ``process`` marker (``pytest -m process`` / ``-m "not process"``). The
in-process fixtures of the API group are shared: the batch CLI's answers are held against the
in-process app's.
"""

from tests.api.conftest import artifact, client, model_dir  # noqa: F401  (fixtures, by name)

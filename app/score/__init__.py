"""Deprecated: ``python -m app.score`` (``__main__``) forwards to ``python -m batch``, for one release."""

"""Benchmark harness: the service against a naive reference, an HTTP ceiling and the model ceiling."""

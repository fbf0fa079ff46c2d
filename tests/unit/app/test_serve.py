"""app/serve.py: the one serve entry point's command line (its servers run in tests/api)."""

from __future__ import annotations

import sys

import click
import pytest
from uvicorn.main import main as uvicorn_cli

from app import serve


def _parsed(args: list[str]) -> dict[str, object]:
    """What uvicorn's own click command makes of ``args`` (nothing is started)."""
    ctx = uvicorn_cli.make_context("uvicorn", list(args))
    return dict(ctx.params)


def test_deployed_flags_reach_uvicorn() -> None:
    params = _parsed(serve.uvicorn_args())
    assert params["app"] == "app.main:app"
    assert params["workers"] == 1
    assert params["timeout_graceful_shutdown"] == 20
    assert params["server_header"] is False and params["access_log"] is False
    assert params["http"] == "app.protocol:BoundedHttpToolsProtocol"
    assert params["timeout_keep_alive"] == 5
    assert params["limit_concurrency"] == 512


def test_options_given_later_win() -> None:
    params = _parsed(serve.uvicorn_args(["--port", "9001", "--limit-concurrency", "6"]))
    assert params["port"] == 9001
    assert params["limit_concurrency"] == 6


def test_app_option_is_split_off() -> None:
    assert serve._split_app(["--app", "bench.null_app:app", "--port", "1"]) == (
        "bench.null_app:app",
        ["--port", "1"],
    )
    assert serve._split_app(["--app=x:y"]) == ("x:y", [])
    assert serve._split_app(["--port", "1"]) == (serve.APP, ["--port", "1"])
    with pytest.raises(SystemExit, match="--app needs"):
        serve._split_app(["--app"])


def test_command_runs_this_interpreter() -> None:
    assert serve.command(["--port", "1"]) == [sys.executable, "-m", "app.serve", "--port", "1"]
    assert serve.command([], "x:y")[-2:] == ["--app", "x:y"]


def test_unknown_option_is_a_usage_error() -> None:
    with pytest.raises(click.UsageError):
        _parsed(serve.uvicorn_args(["--no-such-option"]))

"""The one way the service is started: ``python -m app.serve [uvicorn options]``.

``make serve``, the Dockerfile's CMD, the benchmarks' servers (``bench/server.py``), the test
servers (``tests/process/servers.py``) and ``scripts/fuzz.sh`` all start uvicorn through here, so the
deployed flags live in exactly one place. Options given on the command line come after
``SERVE_FLAGS`` and win (click keeps the last value of a repeated option), e.g.
``python -m app.serve --port 9000 --workers 2``.

Why each flag (details in docs/operations.md and docs/reliability.md):
- one worker: one process = one batch queue and one model copy; scale with replicas;
- ``--timeout-graceful-shutdown 20``: SIGTERM drains accepted work for at most 20 s;
- ``--http app.protocol:BoundedHttpToolsProtocol``: read deadlines for slow or stalled clients;
- ``--timeout-keep-alive 5``, ``--limit-concurrency 512``: bounded idle and open connections;
- no access log and no ``server`` header: the service logs and counts requests itself.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

APP = "app.main:app"
SERVE_FLAGS: tuple[str, ...] = (
    "--workers", "1",
    "--timeout-graceful-shutdown", "20",
    "--no-server-header",
    "--no-access-log",
    "--http", "app.protocol:BoundedHttpToolsProtocol",
    "--timeout-keep-alive", "5",
    "--limit-concurrency", "512",
)  # fmt: skip


def uvicorn_args(options: Sequence[str] = (), app: str = APP) -> list[str]:
    """uvicorn's command line (without the program name) for ``app`` with the deployed flags."""
    return [app, *SERVE_FLAGS, *options]


def command(options: Sequence[str] = (), app: str = APP) -> list[str]:
    """The full command a subprocess runs: this interpreter, ``-m app.serve``, ``options``."""
    app_option = [] if app == APP else ["--app", app]
    return [sys.executable, "-m", "app.serve", *app_option, *options]


def _split_app(argv: Sequence[str]) -> tuple[str, list[str]]:
    """``--app MODULE:ATTR`` (bench's variants of the service) from the rest of the options."""
    rest, app, args = [], APP, list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--app":
            if not args:
                raise SystemExit("python -m app.serve: --app needs MODULE:ATTR")
            app = args.pop(0)
        elif arg.startswith("--app="):
            app = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return app, rest


def main(argv: Sequence[str] | None = None) -> None:
    # Not at import time: `command()` is used by processes that never serve. (`uvicorn.main` the
    # attribute is a function; the click command lives in the module of that name.)
    from uvicorn.main import main as uvicorn_cli

    app, options = _split_app(sys.argv[1:] if argv is None else argv)
    uvicorn_cli.main(args=uvicorn_args(options, app), prog_name="python -m app.serve")


if __name__ == "__main__":
    main()

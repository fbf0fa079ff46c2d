"""Text that came from files or clients, made safe for a log line or a JSON answer.

An artifact's ``preprocessing.json`` is data, not code, but it can still hold a 2 MB "fingerprint"
with newlines in it: echoed into an error it forged log lines and made every ``GET /models`` 2 MB.
"""

from __future__ import annotations

MAX_REASON_CHARS = 400


def clip(text: str, limit: int = MAX_REASON_CHARS) -> str:
    """One printable line of at most ``limit`` characters: control and format characters
    (newline, ESC, U+202E ...) are escaped as ``\\n``, ``\\x1b``, ``\\u202e``; longer text is cut
    with ``…``."""
    head = text[: limit + 1]  # never escape more than is kept: the input may be megabytes
    safe = "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in head
    )
    if len(safe) > limit or len(text) > limit:
        return safe[: limit - 1] + "…"
    return safe

"""A one-line progress bar on stderr with rate and ETA (no dependency; redrawn at most 5x/s).

With a known total (the input file's size in bytes) it shows a bar, the percentage and the ETA,
estimated from bytes read so far; without one (stdin) the count and rate. Off when the stream is not
a terminal (logs and pipes get no carriage-return litter) or when asked to be quiet.
"""

from __future__ import annotations

import time
from typing import TextIO

WIDTH = 24


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    def __init__(
        self, stream: TextIO, total_bytes: int | None, *, enabled: bool, unit: str = "reviews"
    ) -> None:
        self.stream = stream
        self.total = total_bytes if total_bytes else None
        self.enabled = enabled
        self.unit = unit
        self.started = time.perf_counter()
        self._last_draw = 0.0
        self._shown = False

    def update(self, done: int, done_bytes: int, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and now - self._last_draw < 0.2:
            return
        self._last_draw = now
        elapsed = max(now - self.started, 1e-9)
        rate = f"{done / elapsed:,.0f} {self.unit}/s"
        if self.total is None:
            line = f"{done:,} {self.unit} | {rate} | {_duration(elapsed)}"
        else:
            frac = min(done_bytes / self.total, 1.0)
            bar = "#" * int(frac * WIDTH)
            eta = _duration(elapsed * (1 - frac) / frac) if frac > 0 else "?"
            line = (
                f"{frac:4.0%} [{bar:<{WIDTH}}] {done:,} {self.unit} | {rate} | "
                f"{_duration(elapsed)} elapsed, ETA {eta}"
            )
        self.stream.write(f"\r{line}\x1b[K")
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        """Erase the bar (before another message, and at the end)."""
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False

    def message(self, text: str) -> None:
        """A line on the stream that does not collide with the bar."""
        self.clear()
        self.stream.write(text + "\n")
        self.stream.flush()

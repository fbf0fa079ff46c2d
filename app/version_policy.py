"""``MODEL_VERSIONS``: which artifact versions the service loads (TF Serving's version policy).

* ``latest`` (the default) - the highest version;
* ``latest:N`` - the N highest versions;
* ``1,2`` - exactly these versions.

A version that failed to load is skipped by ``latest`` / ``latest:N`` (the next lower one is
served instead) until its files change; see ``app.model_registry``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from model_contract.versions import is_version_name

MAX_LATEST = 8  # each loaded version holds its own model (~60-100 MB RSS): bounded on purpose
_LATEST = re.compile(r"latest(?::(\d+))?")


@dataclass(frozen=True)
class VersionPolicy:
    latest: int = 1  # the N highest versions (used when ``explicit`` is empty)
    explicit: tuple[int, ...] = ()  # exactly these versions, ascending

    @property
    def max_versions(self) -> int:
        return len(self.explicit) if self.explicit else self.latest

    def select(self, available: Iterable[int]) -> set[int]:
        """The versions to serve out of ``available`` (present, complete, not failed)."""
        if self.explicit:
            return set(self.explicit) & set(available)
        return set(sorted(set(available), reverse=True)[: self.latest])

    def __str__(self) -> str:
        if self.explicit:
            return ",".join(str(v) for v in self.explicit)
        return "latest" if self.latest == 1 else f"latest:{self.latest}"


def parse_version_policy(text: str) -> VersionPolicy:
    """``latest``, ``latest:N`` (1 <= N <= 8) or a comma-separated list of versions >= 1."""
    value = text.strip().lower()
    if (match := _LATEST.fullmatch(value)) is not None:
        n = int(match.group(1)) if match.group(1) is not None else 1
        if not 1 <= n <= MAX_LATEST:
            raise ValueError(f"latest:N needs 1 <= N <= {MAX_LATEST}, got {n}")
        return VersionPolicy(latest=n)
    parts = [p.strip() for p in value.split(",")]
    if not all(is_version_name(p) for p in parts):
        raise ValueError(
            "expected 'latest', 'latest:N' or a comma-separated list of versions (1 to 18 digits, "
            "no leading zero, e.g. '1,2')"
        )
    versions = sorted({int(p) for p in parts})
    if len(versions) > MAX_LATEST:
        raise ValueError(f"at most {MAX_LATEST} versions at once, got {len(versions)}")
    return VersionPolicy(explicit=tuple(versions))

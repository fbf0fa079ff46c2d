"""MODEL_VERSIONS parsing and selection (app/version_policy.py) and its Settings rules."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.config import Settings
from app.version_policy import VersionPolicy, parse_version_policy

SHA = "a" * 64


@pytest.mark.parametrize(
    ("text", "policy"),
    [
        ("latest", VersionPolicy(latest=1)),
        (" LATEST ", VersionPolicy(latest=1)),
        ("latest:1", VersionPolicy(latest=1)),
        ("latest:3", VersionPolicy(latest=3)),
        ("2", VersionPolicy(explicit=(2,))),
        ("3, 1,2", VersionPolicy(explicit=(1, 2, 3))),
        ("2,2", VersionPolicy(explicit=(2,))),
    ],
)
def test_parse(text: str, policy: VersionPolicy) -> None:
    assert parse_version_policy(text) == policy


@pytest.mark.parametrize(
    "text", ["", "latest:0", "latest:9", "latest:", "latest:x", "newest", "0", "-1", "1,,2",
             "1;2", "1.5", "²", "1,2,3,4,5,6,7,8,9"],
)  # fmt: skip
def test_bad_values_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"latest|versions"):
        parse_version_policy(text)


def test_select() -> None:
    present = {1, 2, 3, 5}
    assert VersionPolicy(latest=1).select(present) == {5}
    assert VersionPolicy(latest=2).select(present) == {3, 5}
    assert VersionPolicy(latest=8).select(present) == present
    assert VersionPolicy(explicit=(1, 4)).select(present) == {1}
    assert VersionPolicy(latest=1).select(set()) == set()
    assert VersionPolicy(explicit=(1, 4)).max_versions == 2
    assert str(VersionPolicy(latest=2)) == "latest:2"
    assert str(VersionPolicy(explicit=(1, 2))) == "1,2"


def test_settings() -> None:
    assert Settings().version_policy == VersionPolicy(latest=1)
    assert Settings(model_version=2).version_policy == VersionPolicy(explicit=(2,))
    assert Settings(model_versions="latest:2").version_policy == VersionPolicy(latest=2)
    assert Settings(model_sha256=SHA, model_versions="3").model_sha256 == SHA
    assert Settings().model_poll_s == 10


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model_versions": "latest:x"}, "latest"),
        ({"model_versions": "2", "model_version": 2}, "not both"),
        ({"model_versions": "latest:2", "model_sha256": SHA}, "MODEL_SHA256 pins one"),
        ({"model_versions": "1,2", "model_sha256": SHA}, "MODEL_SHA256 pins one"),
        ({"model_poll_s": -1}, "greater than or equal"),
    ],
)
def test_settings_refuse(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**kwargs)  # type: ignore[arg-type]

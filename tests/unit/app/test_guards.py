"""app.guards: one O(1) error for unknown fields, naming the expected fields, never the sent ones."""

from __future__ import annotations

import time
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from app.guards import known_fields_only
from app.schemas import PredictRequest

FIELDS = {"text": object(), "texts": object()}


@pytest.mark.parametrize("data", [{}, {"text": "x"}, {"text": "x", "texts": ["y"]}])
def test_known_fields_pass_through_untouched(data: dict[str, Any]) -> None:
    assert known_fields_only(data, FIELDS) is data


@pytest.mark.parametrize("data", [None, "text", ["text"], 3, b"{}"])
def test_non_objects_are_left_to_the_type_check(data: Any) -> None:
    assert known_fields_only(data, FIELDS) is data


def test_unknown_field_names_the_expected_ones_only() -> None:
    secret = "my private review text used as a key"
    with pytest.raises(PydanticCustomError) as exc:
        known_fields_only({"text": "x", secret: 1}, FIELDS)
    err = exc.value
    assert err.type == "extra_forbidden"
    assert str(err) == "unknown field: the body may contain only 'text', 'texts'"
    assert secret not in str(err) and secret not in repr(err.context)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    a: int = 0
    b: str = ""

    @model_validator(mode="before")
    @classmethod
    def _guard(cls, data: Any) -> Any:
        return known_fields_only(data, cls.__pydantic_fields__)


def test_a_model_wired_with_it_reports_one_error_for_many_unknown_keys() -> None:
    body: dict[str, Any] = {"a": 1, **{f"key{i}": i for i in range(5000)}}
    with pytest.raises(ValidationError) as exc:
        Strict.model_validate(body)
    errors = exc.value.errors(include_url=False)
    assert len(errors) == 1
    assert errors[0]["type"] == "extra_forbidden" and errors[0]["loc"] == ()
    assert errors[0]["msg"] == "unknown field: the body may contain only 'a', 'b'"


def test_the_request_model_uses_it_and_stays_fast_on_hostile_bodies() -> None:
    body = {"text": "fine", **{f"review text {i}": i for i in range(90_000)}}
    started = time.perf_counter()
    with pytest.raises(ValidationError) as exc:
        PredictRequest.model_validate(body)
    elapsed = time.perf_counter() - started
    # What the service answers with (app.errors keeps loc, msg and type only):
    errors = exc.value.errors(include_url=False, include_input=False, include_context=False)
    assert len(errors) == 1
    assert errors[0]["msg"] == (
        "unknown field: the body may contain only "
        + ", ".join(f"'{name}'" for name in PredictRequest.model_fields)
    )
    assert "review text" not in repr(errors)
    assert elapsed < 1.0  # it was 0.5 s and 11 MB of errors with extra="forbid" alone

"""app.rejections: the one table of refusals (status, ErrorBody code, metric reason).

The table is checked against the code that refuses (every reason used anywhere in ``app/`` is in
the table and every row is used), against the OpenAPI error declarations and against the docs.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from app.errors import ERROR_RESPONSES
from app.rejections import OTHER_CODES, REJECTIONS, Rejection, code_for

ROOT = Path(__file__).resolve().parents[3]
# Callables whose argument at this position is a refusal reason.
REASON_ARG = {"reject": 1, "_refuse": 1, "count_rejected": 0, "ServiceUnavailable": 0}
# 499 is recorded (log, metric) for a client that already hung up; nobody reads the answer.
NOT_SENT = {"client_closed"}


def reasons_used_in_app() -> dict[str, list[str]]:
    """Every literal reason passed to a refusal helper or looked up in REJECTIONS, with where."""
    used: dict[str, list[str]] = {}
    for path in sorted((ROOT / "app").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            literal: ast.expr | None = None
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                position = REASON_ARG.get(name)
                if position is not None and len(node.args) > position:
                    literal = node.args[position]
            elif isinstance(node, ast.Subscript) and getattr(node.value, "id", "") == "REJECTIONS":
                literal = node.slice
            if isinstance(literal, ast.Constant) and isinstance(literal.value, str):
                used.setdefault(literal.value, []).append(f"{path.name}:{literal.lineno}")
    return used


def test_every_reason_used_in_app_is_in_the_table() -> None:
    used = reasons_used_in_app()
    assert len(used) >= 8, f"the AST walk found too little: {used}"  # the walker itself works
    unknown = {reason: where for reason, where in used.items() if reason not in REJECTIONS}
    assert not unknown, f"refusal reasons missing from app.rejections.REJECTIONS: {unknown}"


def test_every_row_of_the_table_is_used() -> None:
    unused = REJECTIONS.keys() - reasons_used_in_app().keys()
    assert not unused, f"rows of REJECTIONS no code refuses with: {sorted(unused)}"


@pytest.mark.parametrize("reason", sorted(REJECTIONS))
def test_each_reason_maps_to_a_client_or_server_status_and_a_code(reason: str) -> None:
    rejection = REJECTIONS[reason]
    assert isinstance(rejection, Rejection) and rejection.reason == reason
    assert 400 <= rejection.status < 600
    assert re.fullmatch(r"[a-z][a-z_]*", rejection.code), rejection.code
    assert rejection.status != 500  # server faults are not refusals (not counted as rejected)


def test_codes_are_unique() -> None:
    codes = [r.code for r in REJECTIONS.values()]
    assert len(codes) == len(set(codes))
    assert not set(codes) & set(OTHER_CODES.values())


def test_overload_and_lifecycle_refusals_are_503_and_timeouts_504() -> None:
    for reason in ("queue_full", "not_ready", "shutting_down"):
        assert REJECTIONS[reason].status == 503
    assert REJECTIONS["timeout"].status == 504
    assert REJECTIONS["client_closed"].status == 499  # nginx's "client closed request"
    assert {r.status for r in REJECTIONS.values() if r.reason not in NOT_SENT} < set(
        range(400, 600)
    )


def test_code_for_a_bare_status() -> None:
    for rejection in REJECTIONS.values():
        if rejection.status not in {503, 404} and rejection.reason != "unreadable":
            assert code_for(rejection.status) == rejection.code
    # 503 has three refusals: a bare 503 (e.g. FastAPI's own) gets the generic code. A bare 404 is
    # an unknown path, not the refusal of an unloaded model version (whose handler sets its code).
    assert code_for(503) == "unavailable"
    assert code_for(422) == "validation_error"  # unreadable_text is set by its own handler
    assert code_for(404) == "not_found" and code_for(405) == "method_not_allowed"
    assert code_for(500) == "internal_error"
    assert code_for(418) == "error"


def test_every_status_sent_is_declared_in_the_openapi_schema() -> None:
    sent = {r.status for r in REJECTIONS.values() if r.reason not in NOT_SENT}
    assert sent <= set(ERROR_RESPONSES), sent - set(ERROR_RESPONSES)


def test_every_refusal_is_documented() -> None:
    api = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    rows = {line for line in api.splitlines() if re.match(r"\| \d{3}", line)}
    for rejection in REJECTIONS.values():
        if rejection.reason in NOT_SENT:
            continue
        assert any(
            line.startswith(f"| {rejection.status}") and f"`{rejection.code}`" in line
            for line in rows
        ), f"docs/api.md's error table lacks {rejection.status} `{rejection.code}`"
    operations = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    metric_row = next(
        line for line in operations.splitlines() if "sentiment_rejected_total" in line
    )
    documented = set(re.findall(r"`([a-z_]+)`", metric_row.split("|")[4]))
    assert documented == set(REJECTIONS), "docs/operations.md's reason list != REJECTIONS"

"""The one table of refusals: each reason -> HTTP status, ``ErrorBody.code`` and metric label.

Every refusal the service makes (in ``app.errors``' handlers, in the ASGI middleware before a
request reaches FastAPI, and for readiness) is looked up here, so a status, its stable code and
its ``sentiment_rejected_total{reason}`` label cannot drift apart. Server faults (500) are not
refusals: they are logged, not counted here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rejection:
    status: int
    code: str  # ErrorBody.code
    reason: str  # sentiment_rejected_total{reason}


REJECTIONS: dict[str, Rejection] = {
    r.reason: r
    for r in (
        Rejection(400, "invalid_json", "invalid_json"),
        Rejection(401, "unauthorized", "unauthorized"),
        Rejection(404, "model_version_not_loaded", "model_version_not_loaded"),
        Rejection(413, "body_too_large", "body_too_large"),
        Rejection(415, "unsupported_media_type", "unsupported_media_type"),
        Rejection(422, "validation_error", "validation"),
        Rejection(422, "unreadable_text", "unreadable"),  # on_unreadable: refuse, one text
        Rejection(499, "client_closed", "client_closed"),  # nginx's "client closed request"
        Rejection(503, "queue_full", "queue_full"),
        Rejection(503, "not_ready", "not_ready"),
        Rejection(503, "shutting_down", "shutting_down"),
        Rejection(504, "timeout", "timeout"),
    )
}
# Codes for answers that are not refusals of a request (routing, server faults).
OTHER_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    500: "internal_error",
    503: "unavailable",
}


def code_for(status: int) -> str:
    """The code of an answer given only its status (FastAPI's own HTTP exceptions)."""
    if status in OTHER_CODES:  # a plain 404 is an unknown path, not an unloaded version
        return OTHER_CODES[status]
    for rejection in REJECTIONS.values():
        if rejection.status == status:
            return rejection.code
    return "error"

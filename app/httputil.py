"""Small pure-ASGI helpers for the request middleware: headers, media types, JSON errors, auth."""

from __future__ import annotations

import json
import secrets

from starlette.types import Scope, Send


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def is_json_media_type(content_type: str | None) -> bool:
    """What FastAPI parses as JSON: ``application/json`` or ``application/*+json``."""
    if not content_type:
        return False
    media = content_type.partition(";")[0].strip().lower()
    maintype, _, subtype = media.partition("/")
    return maintype == "application" and (subtype == "json" or subtype.endswith("+json"))


def bearer_matches(scope: Scope, key: bytes) -> bool:
    """``Authorization: Bearer <key>`` (scheme case-insensitive), compared in constant time."""
    scheme, _, token = (header(scope, b"authorization") or "").partition(" ")
    given = token.strip().encode("latin-1") if scheme.lower() == "bearer" else b""
    return secrets.compare_digest(given, key)


async def send_error(
    send: Send,
    status: int,
    detail: str,
    code: str,
    extra_headers: tuple[tuple[bytes, bytes], ...] = (),
    v2: bool = False,
) -> None:
    """An ``ErrorBody``-shaped answer sent before the app (and FastAPI) ever sees the request;
    ``v2``: the Open Inference Protocol's ``{"error": ...}`` instead."""
    body = json.dumps({"error": detail} if v2 else {"detail": detail, "code": code}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *extra_headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

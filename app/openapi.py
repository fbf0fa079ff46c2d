"""The OpenAPI document states what the service enforces, so generated clients (and schemathesis)
send only bodies that are accepted: exactly one of ``text``/``texts``, non-blank texts, the
deployment's MAX_TEXT_CHARS / MAX_TEXTS_PER_REQUEST, and auth on the predict routes (checked in
the middleware, so FastAPI cannot see it). Post-processed here rather than declared on the model:
a regex or a per-deployment limit on the model would run on every request."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.config import Settings


def install_openapi(app: FastAPI, settings: Settings, protected: frozenset[str]) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            request = schema.get("components", {}).get("schemas", {}).get("PredictRequest")
            if request is not None:
                _state_request_rules(request, settings)
            if settings.api_key is not None:
                _require_bearer(schema, protected)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _require_bearer(schema: dict[str, Any], protected: frozenset[str]) -> None:
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})["bearer"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "Authorization: Bearer <API_KEY>",
    }
    for path, operations in schema.get("paths", {}).items():
        if path in protected:
            for operation in operations.values():
                operation["security"] = [{"bearer": []}]


# "Not only whitespace": one character outside ``str.isspace`` (the service's blank check),
# spelled out because ``\S`` differs between dialects (ECMA-262, which schema validators use,
# counts U+FEFF as space but not U+0085 or U+001C-U+001F; Python's re is the reverse).
NOT_BLANK = r"[^\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"


def _string_variants(prop: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for v in prop.get("anyOf", [prop]) if v.get("type") == "string"]


def _state_request_rules(request: dict[str, Any], settings: Settings) -> None:
    props = request.get("properties", {})
    for variant in _string_variants(props.get("text", {})):
        variant.update(maxLength=settings.max_text_chars, pattern=NOT_BLANK)
    for variant in props.get("texts", {}).get("anyOf", []):
        if variant.get("type") == "array":
            variant["maxItems"] = settings.max_texts_per_request
            variant["items"].update(maxLength=settings.max_text_chars, pattern=NOT_BLANK)
    request["oneOf"] = [
        {"required": ["text"], "properties": {"text": {"type": "string"}}},
        {"required": ["texts"], "properties": {"texts": {"type": "array"}}},
    ]
    request["description"] = (
        f"Exactly one of `text` (one review) or `texts` (1-{settings.max_texts_per_request} "
        f"reviews); each review 1-{settings.max_text_chars} characters, not only whitespace; "
        f"no other fields; the whole body at most {settings.max_body_bytes} bytes."
    )

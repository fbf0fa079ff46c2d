"""The OpenAPI document states what the service enforces: auth on the predict routes (checked in
the middleware, so FastAPI cannot see it) and the deployment's own limits."""

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

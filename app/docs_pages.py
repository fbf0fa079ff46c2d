"""``/docs`` (Swagger UI) and ``/redoc`` from assets installed with a pinned package, not a CDN.

FastAPI's default pages load ``swagger-ui-dist@5`` and ``redoc@2`` from jsdelivr (unpinned, no
integrity check) and fonts from Google: they broke offline and every visitor's browser contacted
third parties. ``fastapi-offline`` (pinned in requirements/) ships the same bundles as package
data; only its static files are used here, served with the same security headers as ``/``.
"""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

PREFIX = "/docs-assets"
MEDIA_TYPES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}
# Swagger UI starts itself from an inline script and styles inline; ReDoc runs a worker from a
# blob: URL. Nothing is allowed from another origin.
DOCS_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _asset_dir() -> Path:
    with as_file(files("fastapi_offline") / "static") as path:  # an installed package: a folder
        return Path(path)


def install_docs(app: FastAPI, openapi_url: str = "/openapi.json") -> None:
    """Add ``/docs``, ``/redoc`` and one route per asset (a fixed set: bounded metric labels)."""
    assets = _asset_dir()
    missing = [name for name in MEDIA_TYPES if not (assets / name).is_file()]
    if missing:  # a different fastapi-offline layout: fail at start, not on a visitor's page
        raise RuntimeError(f"fastapi-offline lacks {missing} under {assets}")

    def asset_route(name: str) -> None:
        async def asset() -> FileResponse:
            headers = {**DOCS_HEADERS, "Cache-Control": "public, max-age=3600"}
            return FileResponse(assets / name, media_type=MEDIA_TYPES[name], headers=headers)

        app.add_api_route(f"{PREFIX}/{name}", asset, methods=["GET"], include_in_schema=False)

    for name in MEDIA_TYPES:
        asset_route(name)

    @app.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{PREFIX}/favicon.png",
        )
        return HTMLResponse(page.body, headers=DOCS_HEADERS)

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{PREFIX}/redoc.standalone.js",
            redoc_favicon_url=f"{PREFIX}/favicon.png",
            with_google_fonts=False,
        )
        return HTMLResponse(page.body, headers=DOCS_HEADERS)

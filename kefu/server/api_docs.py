"""`/docs`: Swagger UI over the OpenAPI spec, served from this server, offline.

FastAPI's default page loads Swagger UI's JavaScript and CSS from a CDN, which a shop's intranet or an
offline install cannot reach. The `swagger-ui-py` package (Apache-2.0) ships those files (Swagger UI 5,
which reads OpenAPI 3.1 as FastAPI writes it); they are mounted under `/docs-assets` and the page references
nothing outside the server.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"


def assets_dir() -> Path:
    """Swagger UI's files inside the installed `swagger-ui-py` wheel (found without importing it)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("Swagger UI's assets are missing: pip install 'kefu[server]' (swagger-ui-py)")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def install_api_docs(app: FastAPI, *, path: str = "/docs") -> None:
    """Serve Swagger UI at `path` from the locally installed assets (create the app with `docs_url=None`)."""
    app.mount(ASSETS, StaticFiles(directory=str(assets_dir())), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    title = f"{app.title} API"

    @app.get(path, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
            # no badge that sends the spec to validator.swagger.io
            swagger_ui_parameters={"validatorUrl": None},
        )

"""The FastAPI application: pages, the JSON API, the control forms, static assets."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.trustedhost import TrustedHostMiddleware

from rebalancer.web import api, control, pages
from rebalancer.web.context import WebContext
from rebalancer.web.format import FILTERS
from rebalancer.web.security import Csrf, SecurityHeaders

HERE = Path(__file__).parent
LOOPBACK_NAMES = ("127.0.0.1", "localhost")


def create_app(
    context: WebContext, *, allowed_hosts: Sequence[str] | None = LOOPBACK_NAMES
) -> FastAPI:
    """The dashboard over one portfolio's journal. `allowed_hosts` (the Host header's names)
    guards a loopback server against DNS rebinding; None accepts any host."""
    app = FastAPI(
        title="futures-rebalancer",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters.update(FILTERS)
    app.state.context = context
    app.state.templates = templates
    app.state.csrf = Csrf()
    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(control.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    if allowed_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    app.add_middleware(SecurityHeaders)
    return app

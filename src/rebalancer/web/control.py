"""Halt and resume from the dashboard: only with the control token, only from this origin.

Forms need the CSRF value (see `security`) and the token typed into the form; the API takes
the token as a bearer credential (a header a page on another site cannot send). The halt is
saved in the journal's controls like `rebalancer halt`, with a reason that names "web" as its
source. Refusals never echo what was offered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from rebalancer.service.controls import Controls
from rebalancer.web.api import context_of, error
from rebalancer.web.context import WebContext
from rebalancer.web.overview import trading_state
from rebalancer.web.pages import problem
from rebalancer.web.security import Csrf, same_origin

log = structlog.get_logger(__name__)
router = APIRouter()
MAX_REASON = 200
READ_ONLY = "controls are off: this server was started without $REBALANCER_WEB_TOKEN"
BAD_TOKEN = "wrong or missing control token; nothing was changed"  # noqa: S105 - a message
BAD_FORM = "the form expired or came from another site; reload the page and try again"


def halt(ctx: WebContext, reason: str) -> Controls:
    text = " ".join(reason.split())[:MAX_REASON] or "halted from the dashboard"
    current = ctx.controls.load(ctx.portfolio)
    changed = replace(current, halted=True, reason=f"web: {text}", since=ctx.clock())
    ctx.controls.save(ctx.portfolio, changed)
    log.warning("web_halted", portfolio=ctx.portfolio, reason=changed.reason)
    return changed


def resume(ctx: WebContext, _: str) -> Controls:
    ctx.controls.save(ctx.portfolio, Controls())
    log.warning("web_resumed", portfolio=ctx.portfolio)
    return Controls()


def _refused(ctx: WebContext, why: str) -> None:
    log.warning("web_control_refused", portfolio=ctx.portfolio, why=why)


async def _form(
    request: Request, action: Callable[[WebContext, str], Controls], done: str
) -> Response:
    ctx = context_of(request)
    if ctx.token is None:
        _refused(ctx, "read_only")
        return problem(request, 403, READ_ONLY)
    form = await request.form()
    csrf: Csrf = request.app.state.csrf
    if not (same_origin(request) and csrf.valid(request, _text(form.get("csrf")))):
        _refused(ctx, "csrf")
        return problem(request, 403, BAD_FORM)
    if not ctx.token.matches(_text(form.get("token"))):
        _refused(ctx, "token")
        return problem(request, 403, BAD_TOKEN)
    action(ctx, _text(form.get("reason")) or "")
    return RedirectResponse(f"/?done={done}", status_code=303)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


@router.post("/control/halt")
async def halt_form(request: Request) -> Response:
    return await _form(request, halt, "halted")


@router.post("/control/resume")
async def resume_form(request: Request) -> Response:
    return await _form(request, resume, "resumed")


async def _api(request: Request, action: Callable[[WebContext, str], Controls]) -> Response:
    ctx = context_of(request)
    if ctx.token is None:
        _refused(ctx, "read_only")
        return error(403, READ_ONLY)
    scheme, _, offered = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not ctx.token.matches(offered):
        _refused(ctx, "token")
        return error(403, BAD_TOKEN)
    reason = request.query_params.get("reason", "")
    controls = action(ctx, reason)
    return JSONResponse({"state": trading_state(controls), "description": controls.describe()})


@router.post("/api/halt")
async def halt_api(request: Request) -> Response:
    return await _api(request, halt)


@router.post("/api/resume")
async def resume_api(request: Request) -> Response:
    return await _api(request, resume)

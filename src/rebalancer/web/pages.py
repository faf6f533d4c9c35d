"""The HTML pages, rendered on the server from the same JSON documents the API answers."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from rebalancer.review import history_to_dict, run_to_dict, show
from rebalancer.review.carry_query import journal_carry
from rebalancer.review.render_carry import carry_to_dict
from rebalancer.web.api import context_of
from rebalancer.web.overview import overview
from rebalancer.web.runs import (
    MAX_LIMIT,
    MODES,
    STATES,
    TRIGGERS,
    FilterError,
    RunFilter,
    requested_page,
)
from rebalancer.web.security import CSRF_COOKIE, Csrf

router = APIRouter()
NOTICES = {"halted": "Trading halted.", "resumed": "Trading resumed."}


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    """A page, with the CSRF nonce cookie set when the browser has none yet."""
    ctx = context_of(request)
    csrf: Csrf = request.app.state.csrf
    nonce, fresh = csrf.nonce(request)
    templates: Jinja2Templates = request.app.state.templates
    response = templates.TemplateResponse(
        request,
        name,
        {
            "portfolio": ctx.portfolio,
            "read_only": ctx.read_only,
            "csrf": csrf.form_value(nonce),
            **context,
        },
        status_code=status_code,
    )
    if fresh:
        response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="strict", path="/")
    return response


def problem(request: Request, status: int, message: str) -> Response:
    return render(request, "problem.html", {"active": "", "message": message}, status)


@router.get("/", response_class=HTMLResponse)
def overview_page(request: Request) -> Response:
    ctx = context_of(request)
    document = overview(ctx.store, ctx.settings, ctx.controls.load(ctx.portfolio), ctx.clock())
    band = ctx.settings.config.schedule.drift_abs
    return render(
        request,
        "overview.html",
        {
            "active": "overview",
            "o": document,
            "notice": NOTICES.get(request.query_params.get("done", "")),
            "band": "" if band is None else str(band),
            "chart_src": "/api/history?limit=" + str(MAX_LIMIT),
        },
    )


@router.get("/history", response_class=HTMLResponse)
def history_page(request: Request) -> Response:
    ctx = context_of(request)
    try:
        runs, found = requested_page(ctx.store, ctx.portfolio, dict(request.query_params))
    except FilterError as exc:
        return problem(request, 400, str(exc))
    chart = RunFilter(runs.mode, runs.trigger, runs.state, runs.since, runs.until, MAX_LIMIT)
    return render(
        request,
        "history.html",
        {
            "active": "history",
            "runs": history_to_dict(found.rows)["runs"],
            "f": runs,
            "modes": MODES,
            "triggers": TRIGGERS,
            "states": STATES,
            "older": None
            if found.older is None
            else "?" + urlencode({**runs.params(), "before": found.older.encode()}),
            "newer": None
            if found.newer is None
            else "?" + urlencode({**runs.params(), "after": found.newer.encode()}),
            "chart_src": "/api/history?" + urlencode(chart.params()),
        },
    )


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: str) -> Response:
    ctx = context_of(request)
    detail = show(ctx.store, run_id)
    if detail is None:
        return problem(request, 404, f"no run {run_id!r} in this journal; see the history")
    return render(request, "run.html", {"active": "history", "r": run_to_dict(detail)})


@router.get("/carry", response_class=HTMLResponse)
def carry_page(request: Request) -> Response:
    """The carry ledger as `rebalancer carry --offline` reports it (the journal only: basis
    and rates are the last journaled snapshot's)."""
    ctx = context_of(request)
    report = journal_carry(
        ctx.store,
        ctx.portfolio,
        quote=ctx.settings.config.portfolio.quote,
        since=None,
        until=ctx.clock(),
    )
    return render(request, "carry.html", {"active": "carry", "c": carry_to_dict(report)})

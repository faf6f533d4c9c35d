"""The JSON API: the same documents the CLI's `--json` prints (history, show), plus the
overview's. History pages are linked with an RFC 8288 `Link` header (rel="next"/"prev"), so
the body stays exactly the CLI's."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from rebalancer.review import history_to_dict, run_to_dict, show
from rebalancer.web.context import WebContext
from rebalancer.web.overview import overview
from rebalancer.web.runs import Cursor, FilterError, RunFilter, requested_page

router = APIRouter(prefix="/api")


def context_of(request: Request) -> WebContext:
    context: WebContext = request.app.state.context
    return context


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


@router.get("/overview")
def overview_json(request: Request) -> JSONResponse:
    ctx = context_of(request)
    return JSONResponse(
        overview(ctx.store, ctx.settings, ctx.controls.load(ctx.portfolio), ctx.clock())
    )


@router.get("/history")
def history_json(request: Request) -> JSONResponse:
    ctx = context_of(request)
    try:
        runs, found = requested_page(ctx.store, ctx.portfolio, dict(request.query_params))
    except FilterError as exc:
        return error(400, str(exc))
    links = [
        f'<{_url(request, runs, name, cursor)}>; rel="{rel}"'
        for name, rel, cursor in (("before", "next", found.older), ("after", "prev", found.newer))
        if cursor is not None
    ]
    headers = {"link": ", ".join(links)} if links else None
    return JSONResponse(history_to_dict(found.rows), headers=headers)


def _url(request: Request, runs: RunFilter, name: str, cursor: Cursor) -> str:
    return str(
        request.url_for("history_json").include_query_params(
            **runs.params(), **{name: cursor.encode()}
        )
    )


@router.get("/runs/{run_id}")
def run_json(request: Request, run_id: str) -> JSONResponse:
    ctx = context_of(request)
    detail = show(ctx.store, run_id)
    if detail is None:
        return error(404, f"no run {run_id!r} in this journal")
    body: dict[str, Any] = run_to_dict(detail)
    return JSONResponse(body)

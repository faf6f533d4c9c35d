"""The web dashboard: the journal in a browser, read-only unless a control token is set.

Server-rendered pages (FastAPI + Jinja2) and a JSON API under `/api/` that answers with the
same documents the CLI's `--json` prints; charts are drawn in the browser from that JSON with
a vendored chart library served from `/static/` (no CDN: it works offline). The server reads
only the journal: it needs no exchange keys and never reaches the exchange.
"""

from rebalancer.web.app import create_app
from rebalancer.web.context import ControlToken, WebContext

__all__ = ["ControlToken", "WebContext", "create_app"]

"""`rebalancer web`: the dashboard over the journal, in a browser.

It reads only the journal (no exchange keys, no exchange calls). Halt and Resume appear only
when `$REBALANCER_WEB_TOKEN` is set as the server starts; it listens on 127.0.0.1 unless
`--host` or `[web] host` says otherwise.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import click

from rebalancer import bootstrap
from rebalancer.cli.common import CONFIG_OPTION, fail, settings_from, user_errors, utcnow

if TYPE_CHECKING:
    from rebalancer.web import ControlToken

MIN_TOKEN = 16
WEB_TOKEN_ENV = "REBALANCER_WEB_TOKEN"  # noqa: S105 - the variable's name, not a secret


@click.command("web")
@CONFIG_OPTION
@click.option("--host", help="Address to listen on (default: [web] host, else 127.0.0.1).")
@click.option(
    "--port", type=click.IntRange(1, 65535), help="Port (default: [web] port, else 8478)."
)
def web_command(config_path: Path, host: str | None, port: int | None) -> None:
    """Serve the dashboard: overview, history, each run, and a JSON API under /api/.

    Read-only unless $REBALANCER_WEB_TOKEN (16 characters or more) is set: then Halt and
    Resume work with that token typed into their form. Stop it with Ctrl-C.
    """
    import uvicorn  # noqa: PLC0415 - the web stack loads only for this command

    from rebalancer.web import WebContext, create_app  # noqa: PLC0415
    from rebalancer.web.app import LOOPBACK_NAMES  # noqa: PLC0415

    settings = settings_from(config_path, credentials=False)
    host = host or settings.config.web.host
    port = port or settings.config.web.port
    token = _token()
    listener = _listen(host, port)
    loopback = _is_loopback(host)
    if not loopback:
        click.echo(
            f"warning: {host} is not loopback: anyone who can reach it sees the journal",
            err=True,
        )
    with user_errors(), bootstrap.open_journal(settings, create=False) as journal:
        context = WebContext(settings, journal.store, journal.controls, utcnow, token)
        app = create_app(context, allowed_hosts=(*LOOPBACK_NAMES, host) if loopback else None)
        shown = f"[{host}]" if ":" in host else host
        mode = "read-only" if token is None else "Halt/Resume need the control token"
        click.echo(f"dashboard at http://{shown}:{port}/ ({mode}); Ctrl-C stops it", err=True)
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        uvicorn.Server(config).run(sockets=[listener])


def _token() -> ControlToken | None:
    from rebalancer.web import ControlToken  # noqa: PLC0415

    text = os.environ.get(WEB_TOKEN_ENV, "")
    if not text:
        return None
    if len(text) < MIN_TOKEN:
        fail(
            f"${WEB_TOKEN_ENV}",
            [
                f"is {len(text)} characters; use {MIN_TOKEN} or more random ones "
                "(e.g. `openssl rand -hex 16`), or unset it for a read-only dashboard"
            ],
        )
    return ControlToken(text)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _listen(host: str, port: int) -> socket.socket:
    """The bound listening socket, or one line naming --host/--port and exit 2."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        fail(
            "",
            [
                f"cannot listen on {host}:{port} ({exc.strerror or exc}); "
                "pick another --port or a local --host"
            ],
        )
    sock.listen(128)
    return sock


COMMANDS = [web_command]

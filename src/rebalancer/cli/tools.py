"""Tools around the bot: the local exchange emulator."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("emulator")
@click.option(
    "--port",
    type=int,
    default=8800,
    show_default=True,
    help="Port on 127.0.0.1 (0 picks a free one).",
)
@click.option(
    "--state",
    "state_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON file with the initial balances, positions, prices and markets.",
)
def emulator_command(port: int, state_path: Path | None) -> None:
    """Run the local Binance emulator on 127.0.0.1 until Ctrl-C.

    Prints the `[exchange]` section that points a config at it, and the demo credentials.
    Everything stays on this machine; no real exchange is contacted.
    """
    from rebalancer.emulator.__main__ import serve, usage_text  # noqa: PLC0415 - this command only

    serve(port, state_path, lambda url: click.echo(usage_text(url)))


COMMANDS = [emulator_command]

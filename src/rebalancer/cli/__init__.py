"""The `rebalancer` command. Each group of subcommands lives in its own module.

User mistakes (bad config, bad files, bad arguments) print one line per problem and exit 2;
a run that fails exits 1 and says why; a second writer on the same portfolio exits 3; an
order path on a halted portfolio (or with its circuit open) sends nothing and exits 4. The
group is the one error boundary (`cli.boundary`): nothing else ends in a traceback, unless
`--debug` asks for it.
"""

from __future__ import annotations

from typing import Literal

import click

from rebalancer import __version__, logs
from rebalancer.cli import carry, daemon, fleet, offline, review, tools, trading, web
from rebalancer.cli.boundary import BoundedGroup, crash_dir


@click.group(
    cls=BoundedGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="rebalancer")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="warning",
    show_default=True,
    help="Log events at this level and above go to stderr.",
)
@click.option(
    "--log-format",
    type=click.Choice(["console", "json"]),
    default="console",
    show_default=True,
    help="Readable lines, or one JSON object per line.",
)
@click.option(
    "--debug",
    is_flag=True,
    help=f"Print the full traceback of an unexpected failure (always saved under {crash_dir()}).",
)
def main(log_level: str, log_format: Literal["console", "json"], debug: bool) -> None:
    """Keep a crypto portfolio on its target allocation with perpetual-futures hedges.

    Spot is never sold: the bot opens and adjusts perp hedges at no more than 1x leverage so
    that each asset's net exposure (spot + hedge) matches its target weight.

    Exit codes: 0 done, 1 the run failed (reason printed), 2 a usage or config error,
    3 another process is already the writer for this portfolio, 4 trading is halted or the
    circuit breaker is open (nothing was sent; `rebalancer resume` lifts it), 130 interrupted.
    """
    del debug  # read by the error boundary from the context
    logs.configure(log_level, log_format)


for module in (offline, trading, review, carry, daemon, tools, web, fleet):
    for command in module.COMMANDS:
        main.add_command(command)

__all__ = ["main"]

"""`python -m rebalancer.emulator --port N --state FILE.json --venue binance|bybit|okx`: run the
emulator standalone.

Prints the base URL on start and stops cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from rebalancer.emulator.config import PASSPHRASE_ENV, exchange_section
from rebalancer.emulator.server import VENUES, Emulator
from rebalancer.emulator.state import (
    DEFAULT_API_KEY,
    DEFAULT_API_PASSPHRASE,
    DEFAULT_API_SECRET,
    default_state,
    state_from_file,
)


def serve(
    port: int, state_path: Path | None, announce: Callable[[str], None], venue: str = "binance"
) -> None:
    """Run until SIGTERM/SIGINT; `announce` receives the base URL once listening."""
    state = state_from_file(state_path) if state_path else default_state()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with Emulator(state, port=port, venue=venue) as emulator:
        announce(emulator.base_url)
        stop.wait()


def usage_text(base_url: str, venue: str = "binance") -> str:
    """What a user needs to point the bot at a running emulator."""
    passphrase = f" {PASSPHRASE_ENV}={DEFAULT_API_PASSPHRASE}" if venue == "okx" else ""
    return (
        f"emulator listening on {base_url} ({venue}; Ctrl-C stops it)\n\n"
        f"# credentials the emulator accepts:\n"
        f"export REBALANCER_API_KEY={DEFAULT_API_KEY} REBALANCER_API_SECRET={DEFAULT_API_SECRET}"
        f"{passphrase}\n"
        f"\n# put this [exchange] section in your config:\n{exchange_section(base_url, venue)}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rebalancer.emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: ephemeral)")
    parser.add_argument("--state", type=Path, help="JSON file with the initial state")
    parser.add_argument("--venue", choices=VENUES, default="binance", help="dialect to speak")
    args = parser.parse_args(argv)
    serve(args.port, args.state, lambda url: print(url, flush=True), args.venue)
    print("stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

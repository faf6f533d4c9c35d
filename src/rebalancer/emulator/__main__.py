"""`python -m rebalancer.emulator --port N --state FILE.json`: run the emulator standalone.

Prints the base URL on start and stops cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from rebalancer.emulator.server import Emulator
from rebalancer.emulator.state import EmulatorState, default_state


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rebalancer.emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: ephemeral)")
    parser.add_argument("--state", type=Path, help="JSON file with the initial state")
    args = parser.parse_args(argv)
    state = (
        EmulatorState.from_json(json.loads(args.state.read_text(encoding="utf-8")))
        if args.state
        else default_state()
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with Emulator(state, port=args.port) as emulator:
        print(emulator.base_url, flush=True)
        stop.wait()
    print("stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Named points where a crash test may kill the process (`REBALANCER_CRASH_AT=<point>`).

The crash tests run a real cycle in a subprocess and SIGKILL it at each step of order
execution, then check that a restart sends nothing twice and forgets nothing. Nothing happens
unless the variable names a point; it is never set in normal use.
"""

from __future__ import annotations

import os
import signal
import threading

ENV = "REBALANCER_CRASH_AT"
POINTS = ("before_intents", "after_intents", "in_flight", "after_answer", "after_fill")
# The roll policy's spot phase, after its perp closes were answered (its closes crash at
# POINTS): before its spot intents commit, after, while a spot request is in flight, and
# once every spot answer is journaled (before the roll's record is closed).
ROLL_POINTS = ("before_spot_intents", "after_spot_intents", "spot_in_flight", "after_spot_fill")


def crash_point(name: str) -> None:
    """Die here, at once and uncleanly, if the crash test asked for this point."""
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def crash_soon(name: str, seconds: float = 0.3) -> None:
    """Die `seconds` from now (while a request is in flight) if asked for this point."""
    if os.environ.get(ENV) == name:
        timer = threading.Timer(seconds, os.kill, args=(os.getpid(), signal.SIGKILL))
        timer.daemon = True
        timer.start()

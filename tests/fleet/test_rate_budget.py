"""Workers share one request-weight budget per venue: three worker processes waking six
portfolios on one exchange (one egress IP) never exceed it together, as the exchange's own
weight counters see it; the budget binds (they had more to send than it allows)."""

from __future__ import annotations

from pathlib import Path

from rebalancer.emulator import Emulator
from rebalancer.emulator.weights import WeightMeter
from rebalancer.store import Store
from tests.fleet.helpers import cli, runs, wait_until, workers, write_portfolio
from tests.fleet.test_workers import queue_empty
from tests.integration.harness import seed_state

BUDGET = 100  # weight
WINDOW = 2.0  # seconds
PORTFOLIOS = 6
RECV_WINDOW = "[exchange.options]\nrecvWindow = 1000\n"


class RecordingMeter(WeightMeter):
    """The emulator's meter, also keeping every request's arrival time and weight."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[float, int]] = []

    def add(self, path: str, weight: int, now: float) -> int:
        self.seen.append((now, weight))
        return super().add(path, weight, now)


def _busiest_window(seen: list[tuple[float, int]], seconds: float) -> int:
    seen = sorted(seen)
    return max(sum(w for t, w in seen if start <= t < start + seconds) for start, _ in seen)


def test_workers_together_stay_within_the_venues_shared_budget(
    tmp_path: Path, fleet_url: str, fleet_store: Store
) -> None:
    emu = Emulator(seed_state())
    meter = RecordingMeter()
    emu.meter = meter
    with emu:
        configs = tmp_path / "configs"
        configs.mkdir()
        names = [f"r{i}" for i in range(PORTFOLIOS)]
        for name in names:  # one account read by all (dry-run): one venue, one IP, one budget
            # A 1 s receive window, shorter than the budget's waits: a request signed before
            # its wait would be refused by the exchange (-1021), so each is signed after.
            write_portfolio(configs, name, emu, mode="dry-run", extra=RECV_WINDOW)
        assert cli(fleet_url, "fleet", "import", str(configs)).returncode == 0
        budget = cli(fleet_url, "fleet", "budget", "binance", str(BUDGET), "--per", str(WINDOW))
        assert budget.returncode == 0, budget.stderr

        with workers(fleet_url, 3, tmp_path / "logs", concurrency=2):
            wait_until(
                lambda: all(runs(fleet_store, n) for n in names) and queue_empty(fleet_store),
                90,
                "every portfolio's wake-up",
            )

        refused = [r for r in emu.requests() if r.status != 200]
    assert refused == []
    total = sum(w for _, w in meter.seen)
    assert total > 3 * BUDGET  # more than three windows' worth: the budget had to bind
    assert _busiest_window(meter.seen, WINDOW) <= BUDGET
    logs = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "logs").iterdir())
    assert '"event": "rate_budget_waited"' in logs

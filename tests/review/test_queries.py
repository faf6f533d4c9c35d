"""history and show answer from the journal with typed records, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite

from rebalancer.domain.lifecycle import OrderStatus, RunState
from rebalancer.review import history, show
from rebalancer.review.queries import history_query
from rebalancer.service.journal import Event
from rebalancer.store import SqlJournal, Store
from tests.store.builders import T0, after_snapshot, full_cycle, run_start, seed_plan
from tests.unit.domain.builders import seed_snapshot

D = Decimal
H = timedelta(hours=1)


def _runs(journal: SqlJournal) -> None:
    for i, (mode, portfolio) in enumerate(
        [("paper", "main"), ("dry-run", "main"), ("live", "other"), ("paper", "main")]
    ):
        journal.start_run(run_start(f"r{i}", mode=mode, portfolio=portfolio, at=T0 + i * H))
    journal.start_run(run_start("r3b", at=T0 + 3 * H))  # same time as r3: run id breaks the tie


def test_history_is_newest_first_and_limited(store: Store) -> None:
    _runs(SqlJournal(store))

    assert [r.run_id for r in history(store, limit=10)] == ["r3b", "r3", "r2", "r1", "r0"]
    assert [r.run_id for r in history(store, limit=2)] == ["r3b", "r3"]


def test_history_filters_by_portfolio_mode_and_time(store: Store) -> None:
    _runs(SqlJournal(store))

    assert [r.run_id for r in history(store, portfolio="other", limit=10)] == ["r2"]
    assert [r.run_id for r in history(store, mode="paper", limit=10)] == ["r3b", "r3", "r0"]
    assert [r.run_id for r in history(store, since=T0 + 2 * H, limit=10)] == ["r3b", "r3", "r2"]
    assert history(store, portfolio="main", mode="live", limit=10) == []


def test_history_rows_carry_the_runs_figures(store: Store) -> None:
    full_cycle(SqlJournal(store), "r1")

    [row] = history(store, limit=1)
    assert (row.run_id, row.portfolio, row.trigger, row.mode) == ("r1", "main", "manual", "paper")
    assert row.state is RunState.COMPLETED
    assert row.started_at == T0
    assert row.largest_drift_before == seed_plan().largest_drift_before
    assert (row.largest_drift_after, row.orders_count) == (D(0), 2)
    assert (row.notional_traded, row.fees, row.quote) == (D(2000), D("0.4"), "USDT")


def test_history_refuses_a_limit_below_one(store: Store) -> None:
    with pytest.raises(ValueError, match="limit"):
        history(store, limit=0)


def test_history_reads_newest_runs_through_an_index(store: Store) -> None:
    for portfolio in (None, "main"):
        query = history_query(portfolio=portfolio, limit=20)
        with store.read() as session:
            if store.dialect == "sqlite":
                sql = str(
                    query.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
                )
                plan = " ".join(
                    str(r[-1]) for r in session.execute(text(f"EXPLAIN QUERY PLAN {sql}"))
                )
                assert "USING INDEX ix_runs_" in plan
                assert "TEMP B-TREE" not in plan  # no sort: rows come in index order
            else:
                session.execute(text("SET LOCAL enable_seqscan = off"))
                sql = str(
                    query.compile(
                        dialect=postgresql.dialect(),  # type: ignore[no-untyped-call]
                        compile_kwargs={"literal_binds": True},
                    )
                )
                plan = " ".join(str(r[0]) for r in session.execute(text(f"EXPLAIN {sql}")))
                assert "Index Scan Backward using ix_runs_" in plan
                assert "Sort" not in plan


def test_show_of_an_unknown_run_is_none(store: Store) -> None:
    assert show(store, "nope") is None


def test_show_gathers_the_whole_run(store: Store) -> None:
    journal = SqlJournal(store)
    full_cycle(journal, "r1")
    journal.record_event(Event("r1", T0, "leverage_set", "1x on BTC/USDT:USDT", {"x": D("1")}))

    detail = show(store, "r1")

    assert detail is not None
    assert detail.summary.run_id == "r1"
    assert detail.reason == "asked for"
    assert detail.finished_at == T0 + timedelta(seconds=4)
    assert detail.strategy == run_start().strategy
    assert detail.before == seed_snapshot()
    assert detail.after is not None
    assert detail.after.perps == after_snapshot().perps
    assert detail.lines == seed_plan().lines
    assert [o.client_id for o in detail.orders] == ["r1-0", "r1-1"]
    assert all(o.status is OrderStatus.FILLED and len(o.fills) == 2 for o in detail.orders)
    assert sum((f.quantity for f in detail.orders[1].fills), D(0)) == D("0.4")
    assert [e.kind for e in detail.events] == ["leverage_set"]
    assert detail.events[0].data == {"x": "1"}


def test_residual_drift_is_measured_on_the_after_snapshot(store: Store) -> None:
    full_cycle(SqlJournal(store), "r1")

    detail = show(store, "r1")

    assert detail is not None
    residual = {r.line: r.drift for r in detail.residual}
    # After the trades: BTC 7000 - 1000 of 11999 equity (a 1 USDT fee left the futures wallet).
    assert residual["BTC"] == D(6000) / D(11999) - D("0.5")
    assert detail.largest_residual_drift == max(abs(d) for d in residual.values())


def test_a_run_without_snapshots_or_plan_shows_what_there_is(store: Store) -> None:
    SqlJournal(store).start_run(run_start("r1"))

    detail = show(store, "r1")

    assert detail is not None
    assert (detail.before, detail.after, detail.lines, detail.orders) == (None, None, (), ())
    assert detail.residual == ()
    assert detail.largest_residual_drift is None

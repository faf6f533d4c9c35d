"""`rebalancer fleet ...` in-process: configs validated as check-config does, stored without
secrets or storage URLs, folders imported whole or not at all, controls per portfolio or for
the whole fleet, and bad input as one line with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from rebalancer.cli import main
from rebalancer.store import SqlControls, Store
from tests.integration.harness import ENV

BASE_URL = "http://127.0.0.1:9"  # never contacted: these commands do not call the exchange


def _config(folder: Path, name: str, *, extra: str = "", mode: str = "live") -> Path:
    from rebalancer.emulator.config import exchange_section  # noqa: PLC0415

    path = folder / f"{name}.toml"
    path.write_text(
        f"""
mode = "{mode}"
[portfolio]
name = "{name}"
targets = {{ BTC = "1/2", ETH = "1/3", cash = "1/6" }}
[storage]
url = "postgresql://bot:hunter2-password@db.example:5432/journal"
{extra}
{exchange_section(BASE_URL)}
""",
        encoding="utf-8",
    )
    return path


def _run(url: str | None, *args: str, env: dict[str, str] | None = None) -> Result:
    full = {**ENV, **(env or {})}
    if url is not None:
        full["REBALANCER_FLEET_DATABASE"] = url
    return CliRunner().invoke(main, list(args), env=full)


def test_add_list_show_remove(tmp_path: Path, fleet_url: str) -> None:
    added = _run(fleet_url, "fleet", "add", str(_config(tmp_path, "alpha")))
    assert added.exit_code == 0, added.output
    listed = _run(fleet_url, "fleet", "list", "--json")
    assert [e["name"] for e in json.loads(listed.output)] == ["alpha"]
    shown = _run(fleet_url, "fleet", "show", "alpha")
    document = json.loads(shown.output)
    assert document["config"]["exchange"]["api_key_env"] == "REBALANCER_API_KEY"
    assert "storage" not in document["config"]  # the fleet's journal is its own database
    assert "hunter2" not in shown.output
    assert ENV["REBALANCER_API_SECRET"] not in shown.output
    assert _run(fleet_url, "fleet", "remove", "alpha").exit_code == 0
    assert json.loads(_run(fleet_url, "fleet", "list", "--json").output) == []


def test_nothing_secret_is_stored(tmp_path: Path, fleet_url: str, fleet_store: Store) -> None:
    assert _run(fleet_url, "fleet", "add", str(_config(tmp_path, "alpha"))).exit_code == 0
    with fleet_store.read() as session:
        stored = " ".join(
            str(row) for row in session.execute(text("SELECT * FROM fleet_portfolios"))
        )
    assert "hunter2" not in stored
    assert ENV["REBALANCER_API_KEY"] not in stored
    assert ENV["REBALANCER_API_SECRET"] not in stored


def test_a_bad_config_is_refused_at_add_with_one_line_per_problem(
    tmp_path: Path, fleet_url: str
) -> None:
    bad = _config(tmp_path, "bad", extra='[hedging]\nmax_leverage = "3"\nmin_trade_notionl = 1')
    refused = _run(fleet_url, "fleet", "add", str(bad))
    assert refused.exit_code == 2
    assert "max_leverage" in refused.output
    assert "min_trade_notionl: unknown key" in refused.output
    assert "Traceback" not in refused.output
    assert json.loads(_run(fleet_url, "fleet", "list", "--json").output) == []


def test_a_live_config_without_its_keys_in_the_environment_is_refused(
    tmp_path: Path, fleet_url: str
) -> None:
    refused = _run(
        fleet_url,
        "fleet",
        "add",
        str(_config(tmp_path, "alpha")),
        env={"REBALANCER_API_KEY": "", "REBALANCER_API_SECRET": ""},
    )
    assert refused.exit_code == 2
    assert "live mode needs credentials" in refused.output


def test_import_stores_a_folder_whole_or_not_at_all(tmp_path: Path, fleet_url: str) -> None:
    for name in ("a1", "a2"):
        _config(tmp_path, name)
    (tmp_path / "broken.toml").write_text("mode = [", encoding="utf-8")
    refused = _run(fleet_url, "fleet", "import", str(tmp_path))
    assert refused.exit_code == 2
    assert "broken.toml: is not valid TOML" in refused.output
    assert "nothing was stored" in refused.output
    assert json.loads(_run(fleet_url, "fleet", "list", "--json").output) == []

    (tmp_path / "broken.toml").unlink()
    imported = _run(fleet_url, "fleet", "import", str(tmp_path))
    assert imported.exit_code == 0, imported.output
    names = [e["name"] for e in json.loads(_run(fleet_url, "fleet", "list", "--json").output)]
    assert names == ["a1", "a2"]


def test_two_files_naming_one_portfolio_are_refused(tmp_path: Path, fleet_url: str) -> None:
    _config(tmp_path, "same")
    (tmp_path / "copy.toml").write_text(
        (tmp_path / "same.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    refused = _run(fleet_url, "fleet", "import", str(tmp_path))
    assert refused.exit_code == 2
    assert "portfolio.name 'same' is also in" in refused.output


def test_halt_and_resume_all_reach_every_portfolio(
    tmp_path: Path, fleet_url: str, fleet_store: Store
) -> None:
    for name in ("h1", "h2", "h3"):
        _config(tmp_path, name)
    assert _run(fleet_url, "fleet", "import", str(tmp_path)).exit_code == 0
    controls = SqlControls(fleet_store)

    assert _run(fleet_url, "fleet", "halt", "h2", "--reason", "audit").exit_code == 0
    assert [controls.load(n).halted for n in ("h1", "h2", "h3")] == [False, True, False]
    assert _run(fleet_url, "fleet", "halt", "--all").exit_code == 0
    assert all(controls.load(n).halted for n in ("h1", "h2", "h3"))
    status = json.loads(_run(fleet_url, "fleet", "status", "--json").output)
    assert all(row["trading"].startswith("halted since") for row in status)
    assert _run(fleet_url, "fleet", "resume", "--all").exit_code == 0
    assert not any(controls.load(n).halted for n in ("h1", "h2", "h3"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("fleet", "halt"), "name one portfolio or pass --all"),
        (("fleet", "remove", "nobody"), "nobody: no such fleet portfolio"),
        (("fleet", "show", "nobody"), "nobody: no such fleet portfolio"),
        (("fleet", "budget", "binance", "10", "--per", "soon"), "--per: 'soon' is not a number"),
        (("fleet", "import", "/nonexistent-folder"), "is not a folder"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    fleet_url: str, args: tuple[str, ...], message: str
) -> None:
    result = _run(fleet_url, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_the_fleet_needs_a_postgresql_database(tmp_path: Path) -> None:
    missing = _run(None, "fleet", "list")
    assert missing.exit_code == 2
    assert "REBALANCER_FLEET_DATABASE" in missing.output
    sqlite = _run(f"sqlite:///{tmp_path}/j.db", "fleet", "list")
    assert sqlite.exit_code == 2
    assert "the fleet runs on PostgreSQL" in sqlite.output


def test_at_most_one_wake_up_waits_per_portfolio(tmp_path: Path, fleet_url: str) -> None:
    assert _run(fleet_url, "fleet", "add", str(_config(tmp_path, "alpha"))).exit_code == 0
    first = _run(fleet_url, "fleet", "wake", "alpha")
    assert first.exit_code == 0, first.output
    assert "queued 1 wake-up(s); 0 already waiting" in first.output
    second = _run(fleet_url, "fleet", "wake", "alpha", "--calendar")
    assert "queued 0 wake-up(s); 1 already waiting" in second.output  # the queueing lock

"""Every command meets a user mistake with one line naming the input and the fix, never a
traceback: a table of bad inputs, run through the real command group in process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from rebalancer.cli import main

GOOD = """\
mode = "dry-run"
[portfolio]
name = "bad-inputs"
quote = "USDT"
targets = { BTC = "1/2", ETH = "1/3", cash = "1/6" }
[schedule]
trigger = "both"
cron = "0 0 1 */3 *"
[storage]
url = "sqlite:///{db}"
"""


@dataclass(frozen=True)
class Case:
    name: str
    args: Callable[[Path], list[str]]
    code: int
    says: str
    journal: bool = False  # the case needs an (empty) journal first


def _files(tmp: Path) -> None:
    (tmp / "good.toml").write_text(GOOD.replace("{db}", str(tmp / "j.db")), encoding="utf-8")
    good = (tmp / "good.toml").read_text(encoding="utf-8")
    (tmp / "never.toml").write_text(good.replace("0 0 1 */3 *", "0 0 31 2 *"), encoding="utf-8")
    (tmp / "sum.toml").write_text(good.replace('cash = "1/6"', 'cash = "1/4"'), encoding="utf-8")
    (tmp / "float.toml").write_text(
        good.replace('{ BTC = "1/2", ETH = "1/3", cash = "1/6" }', "{ BTC = 0.7, ETH = 0.4 }"),
        encoding="utf-8",
    )
    (tmp / "broken.toml").write_text("mode = \n", encoding="utf-8")
    (tmp / "typo.toml").write_text(good + "[hedging]\nmax_leverge = 1\n", encoding="utf-8")
    (tmp / "live.toml").write_text(good.replace('"dry-run"', '"live"'), encoding="utf-8")
    (tmp / "paper.toml").write_text(good.replace('"dry-run"', '"paper"'), encoding="utf-8")
    (tmp / "btc_only.csv").write_text("date,BTC\n2024-01-01,40000\n", encoding="utf-8")
    (tmp / "closes.csv").write_text(
        "date,BTC,ETH\n2024-01-01,40000,2000\n2024-01-02,41000,2100\n2024-01-03,42000,2050\n",
        encoding="utf-8",
    )
    (tmp / "words.csv").write_text("date,BTC,ETH\n2024-01-01,40000,abc\n", encoding="utf-8")
    (tmp / "snap.json").write_text("{not json", encoding="utf-8")
    (tmp / "policy.toml").write_text(good + '[policy]\nenabled = ["hold"]\n', encoding="utf-8")
    (tmp / "roll.toml").write_text(good + '[policy]\nenabled = ["roll"]\n', encoding="utf-8")
    (tmp / "lots.csv").write_text("asset,quantity,price\nBTC,0.1,abc\n", encoding="utf-8")
    (tmp / "lots.toml").write_text(
        good.replace("[portfolio]\n", '[portfolio]\ncost_basis_lots = "lots.csv"\n'),
        encoding="utf-8",
    )
    (tmp / "a_folder").mkdir()


def _c(name: str) -> Callable[[Path], str]:
    return lambda tmp: str(tmp / name)


GOOD_C = _c("good.toml")
MISSING_DIR = "no/such/folder/out"

CASES = [
    Case(
        "check-config: no file",
        lambda t: ["check-config", "-c", str(t / "nope.toml")],
        2,
        "file not found",
    ),
    Case(
        "check-config: cron that never fires",
        lambda t: ["check-config", "-c", _c("never.toml")(t)],
        2,
        "never fires",
    ),
    Case(
        "check-config: weights sum readable",
        lambda t: ["check-config", "-c", _c("sum.toml")(t)],
        2,
        "weights sum to 1.08333, not 1",
    ),
    Case(
        "check-config: float weights readable",
        lambda t: ["check-config", "-c", _c("float.toml")(t)],
        2,
        "weights sum to 1.1, not 1",
    ),
    Case(
        "check-config: broken TOML",
        lambda t: ["check-config", "-c", _c("broken.toml")(t)],
        2,
        "broken.toml",
    ),
    Case(
        "check-config: misspelt key",
        lambda t: ["check-config", "-c", _c("typo.toml")(t)],
        2,
        "max_leverage",
    ),
    Case(
        "plan: missing snapshot",
        lambda t: ["plan", "-c", GOOD_C(t), "--snapshot", str(t / "none.json")],
        2,
        "none.json",
    ),
    Case(
        "plan: snapshot is not JSON",
        lambda t: ["plan", "-c", GOOD_C(t), "--snapshot", _c("snap.json")(t)],
        2,
        "snap.json",
    ),
    Case(
        "report: output in a missing folder",
        lambda t: ["report", "-c", GOOD_C(t), "-o", str(t / MISSING_DIR / "r.html")],
        2,
        "does not exist",
    ),
    Case(
        "report: unknown mode",
        lambda t: ["report", "-c", GOOD_C(t), "-o", str(t / "r.html"), "--mode", "real"],
        2,
        "--mode",
    ),
    Case(
        "export: output in a missing folder",
        lambda t: [
            "export",
            "-c",
            GOOD_C(t),
            "--what",
            "fills",
            "-o",
            str(t / MISSING_DIR / "f.csv"),
        ],
        2,
        "does not exist",
    ),
    Case(
        "export: output is a folder",
        lambda t: ["export", "-c", GOOD_C(t), "--what", "runs", "-o", _c("a_folder")(t)],
        2,
        "is a folder",
    ),
    Case(
        "export: bad --since",
        lambda t: ["export", "-c", GOOD_C(t), "--what", "runs", "--since", "yesterday"],
        2,
        "--since",
        journal=True,
    ),
    Case(
        "snapshot: output in a missing folder",
        lambda t: ["snapshot", "-c", GOOD_C(t), "-o", str(t / MISSING_DIR / "s.json")],
        2,
        "does not exist",
    ),
    Case(
        "backtest: output in a missing folder",
        lambda t: [
            "backtest",
            "-c",
            GOOD_C(t),
            "--prices",
            _c("btc_only.csv")(t),
            "-o",
            str(t / MISSING_DIR / "b.html"),
        ],
        2,
        "does not exist",
    ),
    Case(
        "backtest: no prices file",
        lambda t: ["backtest", "-c", GOOD_C(t), "--prices", str(t / "absent.csv")],
        2,
        "fetch-history",
    ),
    Case(
        "backtest: prices lack a column",
        lambda t: ["backtest", "-c", GOOD_C(t), "--prices", _c("btc_only.csv")(t)],
        2,
        "ETH",
    ),
    Case(
        "backtest: bad --from",
        lambda t: ["backtest", "-c", GOOD_C(t), "--prices", _c("closes.csv")(t), "--from", "soon"],
        2,
        "--from",
    ),
    Case(
        "backtest: bad --funding",
        lambda t: [
            "backtest",
            "-c",
            GOOD_C(t),
            "--prices",
            _c("closes.csv")(t),
            "--funding",
            "BTC",
        ],
        2,
        "SYMBOL=FILE",
    ),
    Case(
        "backtest: funding dir missing",
        lambda t: [
            "backtest",
            "-c",
            GOOD_C(t),
            "--prices",
            _c("closes.csv")(t),
            "--funding-dir",
            str(t / "nofunding"),
        ],
        2,
        "nofunding",
    ),
    Case(
        "demo: prices lack a column",
        lambda t: ["demo", "--prices", _c("btc_only.csv")(t)],
        2,
        "no ETH column",
    ),
    Case(
        "demo: prices are not numbers",
        lambda t: ["demo", "--prices", _c("words.csv")(t)],
        2,
        "not a positive number",
    ),
    Case("demo: speed out of range", lambda t: ["demo", "--speed", "0"], 2, "--speed"),
    Case(
        "history: bad --since",
        lambda t: ["history", "-c", GOOD_C(t), "--since", "last week"],
        2,
        "--since",
        journal=True,
    ),
    Case(
        "history: bad --limit", lambda t: ["history", "-c", GOOD_C(t), "--limit", "0"], 2, "--limit"
    ),
    Case(
        "history: no config", lambda t: ["history", "-c", str(t / "gone.toml")], 2, "file not found"
    ),
    Case("show: unknown run", lambda t: ["show", "nope", "-c", GOOD_C(t)], 2, "nope", journal=True),
    Case("once: unknown mode", lambda t: ["once", "-c", GOOD_C(t), "--mode", "real"], 2, "--mode"),
    Case(
        "once: live without credentials",
        lambda t: ["once", "-c", _c("live.toml")(t)],
        2,
        "REBALANCER_API_KEY",
    ),
    Case(
        "run: cron that never fires", lambda t: ["run", "-c", _c("never.toml")(t)], 2, "never fires"
    ),
    Case(
        "status: no config", lambda t: ["status", "-c", str(t / "gone.toml")], 2, "file not found"
    ),
    Case(
        "carry: bad --since",
        lambda t: ["carry", "-c", GOOD_C(t), "--since", "2026-02-30"],
        2,
        "--since '2026-02-30' is not a date",
    ),
    Case(
        "carry: offline before any journal",
        lambda t: ["carry", "-c", GOOD_C(t), "--offline"],
        2,
        "storage.url",
    ),
    Case(
        "carry: live without credentials",
        lambda t: ["carry", "-c", _c("live.toml")(t)],
        2,
        "REBALANCER_API_KEY",
    ),
    Case("halt: no config", lambda t: ["halt", "-c", str(t / "gone.toml")], 2, "file not found"),
    Case(
        "resume: config is a folder", lambda t: ["resume", "-c", _c("a_folder")(t)], 2, "a_folder"
    ),
    Case(
        "reconcile: no config",
        lambda t: ["reconcile", "-c", str(t / "gone.toml")],
        2,
        "file not found",
    ),
    Case(
        "paper reset: no config",
        lambda t: ["paper", "reset", "-c", str(t / "gone.toml")],
        2,
        "file not found",
    ),
    Case(
        "db upgrade: no config",
        lambda t: ["db", "upgrade", "-c", str(t / "gone.toml")],
        2,
        "file not found",
    ),
    Case(
        "fetch-history: bad --from",
        lambda t: [
            "fetch-history",
            "-c",
            GOOD_C(t),
            "--prices",
            str(t / "p.csv"),
            "--from",
            "2024-13-01",
        ],
        2,
        "--from",
    ),
    Case(
        "fetch-history: --from after --to",
        lambda t: [
            "fetch-history",
            "-c",
            GOOD_C(t),
            "--prices",
            str(t / "p.csv"),
            "--from",
            "2024-02-01",
            "--to",
            "2024-01-01",
        ],
        2,
        "after --to",
    ),
    Case(
        "emulator: missing state file",
        lambda t: ["emulator", "--state", str(t / "s.json")],
        2,
        "s.json",
    ),
    Case("emulator: port out of range", lambda t: ["emulator", "--port", "99999"], 2, "--port"),
    Case("web: no config file", lambda t: ["web", "-c", str(t / "nope.toml")], 2, "nope.toml"),
    Case("web: port out of range", lambda t: ["web", "-c", GOOD_C(t), "--port", "0"], 2, "--port"),
    Case(
        "once: paper mode without a [paper] account",
        lambda t: ["once", "-c", str(t / "paper.toml")],
        2,
        "add a [paper] section",
    ),
    Case("fleet: no database", lambda t: ["fleet", "list"], 2, "REBALANCER_FLEET_DATABASE"),
    Case(
        "worker: not PostgreSQL",
        lambda t: ["worker", "--database", f"sqlite:///{t}/j.db"],
        2,
        "the fleet runs on PostgreSQL",
    ),
    Case("unknown command", lambda t: ["rebalance-now"], 2, "No such command"),
    Case(
        "check-config: unknown policy",
        lambda t: ["check-config", "-c", _c("policy.toml")(t)],
        2,
        "policy.enabled: unknown policy 'hold'",
    ),
    Case(
        "once: roll without spot sales allowed",
        lambda t: ["once", "-c", _c("roll.toml")(t)],
        2,
        "set policy.allow_spot_sales = true",
    ),
    Case(
        "check-config: a cost-basis CSV with a word for a price",
        lambda t: ["check-config", "-c", _c("lots.toml")(t)],
        2,
        "lots.csv, line 2: quantity and price must be numbers",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_user_mistake_is_one_line_and_the_right_exit_code(tmp_path: Path, case: Case) -> None:
    _files(tmp_path)
    if case.journal:
        assert CliRunner().invoke(main, ["db", "upgrade", "-c", GOOD_C(tmp_path)]).exit_code == 0
    result = CliRunner().invoke(
        main, case.args(tmp_path), env={"REBALANCER_CRASH_DIR": str(tmp_path / "crashes")}
    )
    output = result.output
    assert result.exit_code == case.code, output
    assert isinstance(result.exception, SystemExit), result.exception  # nothing escaped
    assert "Traceback" not in output
    assert "unexpected" not in output  # classified as the user's mistake, not as a crash
    assert case.says in output
    assert not (tmp_path / "crashes").exists()


def test_there_are_at_least_25_bad_inputs_covering_every_command() -> None:
    assert len(CASES) >= 25
    covered = {" ".join(c.args(Path("/x"))[:2]).split(" -")[0] for c in CASES}
    commands = {name for name in main.commands if name not in ("db", "paper")}
    assert commands <= {c.split()[0] for c in covered}

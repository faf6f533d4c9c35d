"""Config validation: every bad config is explained in one line naming the field and the fix."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from rebalancer.cli import main
from rebalancer.config import ConfigError, Mode, load_settings

REPO = Path(__file__).resolve().parents[3]

GOOD = """
mode = "paper"
[portfolio]
name = "t"
targets = { BTC = "1/2", ETH = "1/3", cash = "1/6" }
[paper]
futures_wallet = 2000
"""


def _load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> object:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path, env or {})


def _problems(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text, env)
    return info.value.problems


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "config").glob("*.toml")))
def test_every_example_config_is_valid(name: str) -> None:
    # The passphrase is read by the venues whose keys have one (okx-unified.toml).
    env = {"REBALANCER_API_KEY": "k", "REBALANCER_API_SECRET": "s", "REBALANCER_API_PASSWORD": "p"}
    settings = load_settings(REPO / "config" / name, env)
    assert settings.strategy.weights


def test_defaults_fill_a_minimal_config(tmp_path: Path) -> None:
    settings = _load(tmp_path, GOOD)
    assert settings.mode is Mode.PAPER  # type: ignore[attr-defined]
    assert settings.strategy.hedges["BTC"].instrument == "BTC/USDT:USDT"  # type: ignore[attr-defined]
    assert settings.strategy.max_leverage == 1  # type: ignore[attr-defined]
    assert settings.credentials is None  # type: ignore[attr-defined]


BAD = [
    (
        "negative weight",
        "targets = { BTC = -0.1, ETH = 0.9, cash = 0.2 }",
        "portfolio.targets: weight of BTC is negative",
    ),
    (
        "weights off by 0.01",
        "targets = { BTC = 0.5, ETH = 0.3, cash = 0.19 }",
        "portfolio.targets: weights sum to 0.99, not 1",
    ),
    (
        "duplicate asset",
        "targets = { BTC = 0.5, btc = 0.3, cash = 0.2 }",
        "portfolio.targets: 'btc' and 'BTC' name the same asset",
    ),
    (
        "weight not a number",
        'targets = { BTC = "half", cash = 0.5 }',
        "portfolio.targets.BTC: 'half' is not a number",
    ),
]


@pytest.mark.parametrize(("case", "targets", "expected"), BAD, ids=[b[0] for b in BAD])
def test_bad_targets_are_rejected_with_the_field(
    tmp_path: Path, case: str, targets: str, expected: str
) -> None:
    problems = _problems(tmp_path, f'[portfolio]\nname = "t"\n{targets}\n')
    assert len(problems) == 1, case
    assert problems[0].startswith(expected)


SECTIONS = [
    (
        "leverage above 1",
        "[hedging]\nmax_leverage = 2",
        "hedging.max_leverage: max_leverage 2 is out of range; use a value in (0, 1]",
    ),
    ("leverage zero", "[hedging]\nmax_leverage = 0", "hedging.max_leverage: max_leverage 0 is out"),
    ("abs threshold too big", "[schedule]\ndrift_abs = 1.5", "schedule.drift_abs: drift_abs 1.5"),
    (
        "rel threshold negative",
        "[schedule]\ndrift_rel = -0.1",
        "schedule.drift_rel: drift_rel -0.1",
    ),
    (
        "bad cron",
        '[schedule]\ncron = "every monday"',
        "schedule.cron: 'every monday' is not a cron",
    ),
    ("bad interval", '[schedule]\ndrift_check_interval = "soon"', "schedule.drift_check_interval"),
    (
        "typo in a key",
        "[hedging]\nmax_leverge = 1",
        "hedging.max_leverge: unknown key (did you mean 'max_leverage'?)",
    ),
    ("unknown section", "[hedgeing]\nmax_leverage = 1", "hedgeing: unknown key"),
    ("malformed storage url", '[storage]\nurl = "not a url"', "storage.url: is not a database URL"),
    ("unsupported database", '[storage]\nurl = "mysql://u@h/db"', "storage.url: backend 'mysql'"),
    (
        "group member not a target",
        '[[portfolio.groups]]\nname = "g"\nmembers = ["SOL"]',
        "portfolio: Value error, group 'g' member SOL is not a target asset",
    ),
    ("mode typo", None, "mode: Input should be 'live', 'paper' or 'dry-run'"),
    (
        "credential in options",
        '[exchange]\noptions = { secret = "x" }',
        "exchange.options: 'secret' looks like a credential",
    ),
    (
        "band without thresholds",
        '[hedging]\nrebalance_to = "band"\n[schedule]\ntrigger = "calendar"\ndrift_abs = false',
        "schedule.drift_abs",
    ),
]


@pytest.mark.parametrize(("case", "section", "expected"), SECTIONS, ids=[s[0] for s in SECTIONS])
def test_bad_sections_are_rejected_in_one_line_naming_the_field(
    tmp_path: Path, case: str, section: str | None, expected: str
) -> None:
    text = (
        'mode = "liev"\n' + GOOD.replace('mode = "paper"', "")
        if section is None
        else (GOOD + "\n" + section + "\n")
    )
    problems = _problems(tmp_path, text)
    assert len(problems) == 1, (case, problems)
    assert (
        problems[0].replace("Value error, ", "").startswith(expected.replace("Value error, ", ""))
    ), problems


def test_live_mode_without_credentials_names_the_variable(tmp_path: Path) -> None:
    problems = _problems(tmp_path, GOOD.replace('"paper"', '"live"'))
    assert problems == [
        "exchange: environment variable REBALANCER_API_KEY is not set; export it "
        "(or REBALANCER_API_KEY_FILE) (live mode needs credentials)"
    ]


def test_dry_run_needs_credentials_too(tmp_path: Path) -> None:
    assert _problems(tmp_path, GOOD.replace('"paper"', '"dry-run"'))[0].startswith("exchange:")


def test_credentials_come_from_a_file_named_by_the_environment(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("my-api-key\n", encoding="utf-8")
    env = {"REBALANCER_API_KEY_FILE": str(tmp_path / "key"), "REBALANCER_API_SECRET": "s3cr3t"}
    settings = _load(tmp_path, GOOD.replace('"paper"', '"live"'), env)
    creds = settings.credentials  # type: ignore[attr-defined]
    assert creds.api_key.get_secret_value() == "my-api-key"
    # Secrets never appear in a repr, str or the settings' repr.
    for text in (repr(settings), str(settings), repr(creds)):
        assert "my-api-key" not in text
        assert "s3cr3t" not in text
    assert creds.fingerprint().startswith("key#")


def test_several_problems_are_all_reported(tmp_path: Path) -> None:
    text = GOOD + "\n[hedging]\nmax_leverage = 3\n[schedule]\ndrift_abs = 2\n"
    problems = _problems(tmp_path, text)
    assert [p.split(":")[0] for p in problems] == ["hedging.max_leverage", "schedule.drift_abs"]


def test_fractions_are_exact_enough_to_sum_to_one(tmp_path: Path) -> None:
    settings = _load(tmp_path, GOOD)
    weights = settings.strategy.weights  # type: ignore[attr-defined]
    total = sum(weights.values(), Decimal(0)) + settings.strategy.cash_weight  # type: ignore[attr-defined]
    assert abs(total - 1) < Decimal("1e-20")


def test_not_toml_and_missing_files_are_one_line(tmp_path: Path) -> None:
    assert _problems(tmp_path, "[portfolio\n")[0].startswith("is not valid TOML")
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "nope.toml", {})
    assert info.value.problems == ["file not found; pass an existing file with -c"]


@pytest.mark.parametrize(
    "paper",
    ["", "[paper]\nspot = { BTC = 0 }\nfutures_wallet = 0\n"],
    ids=["no-paper-section", "empty-paper-account"],
)
def test_check_config_of_paper_mode_without_an_account_names_the_paper_section(
    tmp_path: Path, paper: str
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(GOOD.replace("[paper]\nfutures_wallet = 2000\n", paper), encoding="utf-8")
    done = CliRunner().invoke(main, ["check-config", "-c", str(path)])
    assert done.exit_code == 2
    [line] = done.output.splitlines()
    assert line.startswith(f"error: {path}: paper: ")
    assert "add a [paper] section" in line
    assert "config/paper.toml" in line


def test_a_config_without_paper_account_still_plans_offline(tmp_path: Path) -> None:
    text = GOOD.replace("[paper]\nfutures_wallet = 2000\n", "")
    assert _load(tmp_path, text)  # plan --snapshot and backtest need no simulated account


@pytest.mark.parametrize(
    ("storage", "expected"),
    [
        ("", "sqlite:///{folder}/rebalancer.db"),  # the default is beside the config too
        ('[storage]\nurl = "sqlite:///journal.db"\n', "sqlite:///{folder}/journal.db"),
        ('[storage]\nurl = "sqlite:///data/j.db"\n', "sqlite:///{folder}/data/j.db"),
        ('[storage]\nurl = "sqlite:////abs/j.db"\n', "sqlite:////abs/j.db"),
        ('[storage]\nurl = "sqlite:///:memory:"\n', "sqlite:///:memory:"),
        (
            '[storage]\nurl = "postgresql+psycopg://u@h/db"\n',
            "postgresql+psycopg://u@h/db",
        ),
    ],
    ids=["default", "relative", "relative-subfolder", "absolute", "memory", "postgresql"],
)
def test_a_relative_sqlite_journal_lives_beside_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, storage: str, expected: str
) -> None:
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "my.toml").write_text(GOOD + storage, encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_settings(Path("..") / "work" / "my.toml", {})
    assert settings.config.storage.url == expected.format(folder=folder)

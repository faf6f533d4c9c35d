"""Loading a config file: TOML -> `AppConfig` -> `Settings`, with one-line problems on failure.

This is the only module that reads config files and the environment for configuration.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from rebalancer.config.cost_basis import CostBasisError, merged, read_lots
from rebalancer.config.model import AppConfig, Mode, StorageConfig
from rebalancer.config.strategy import (
    to_carry_terms,
    to_roll_rules,
    to_strategy,
    to_top_up_rules,
)
from rebalancer.domain.carry import CarryTerms
from rebalancer.domain.roll import RollRules
from rebalancer.domain.strategy import Strategy
from rebalancer.domain.top_up import TopUpRules
from rebalancer.secrets import Credentials, MissingSecretError, read_credentials


class ConfigError(Exception):
    """A config that cannot be used; `problems` holds one line per problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


@dataclass(frozen=True, slots=True)
class Settings:
    """The one config object built at start-up and passed down."""

    source: str
    config: AppConfig
    strategy: Strategy
    credentials: Credentials | None
    carry: CarryTerms  # rates of the hedge-or-sell projection
    cost_basis: Mapping[str, Decimal]  # per coin average cost (figures only)
    roll: RollRules

    @property
    def mode(self) -> Mode:
        return self.config.mode

    @property
    def top_up(self) -> TopUpRules:
        return to_top_up_rules(self.config)


def load_settings(
    path: str | Path, env: Mapping[str, str], *, credentials: bool = True
) -> Settings:
    """Read, validate and resolve a config file; raise `ConfigError` listing every problem.

    `credentials=False` is for commands that only read the journal: a live config's missing
    keys are then not a problem (and `Settings.credentials` may be None).
    """
    raw = read_config_file(path)
    _anchor_journal(raw, Path(path).resolve().parent)
    _anchor_lots(raw, Path(path).resolve().parent)
    return settings_from_mapping(raw, env, str(path), credentials=credentials)


def read_config_file(
    path: str | Path, *, missing: str = "pass an existing file with -c"
) -> dict[str, Any]:
    """A config file's TOML as a mapping, or `ConfigError` saying why it cannot be read."""
    source = str(path)
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(source, [f"file not found; {missing}"]) from None
    except OSError as exc:
        raise ConfigError(source, [f"cannot be read ({exc.strerror})"]) from None
    except UnicodeDecodeError:
        raise ConfigError(source, ["is not UTF-8 text; save it as UTF-8"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [f"is not valid TOML: {exc}"]) from None


def _anchor_journal(raw: dict[str, Any], folder: Path) -> None:
    """A relative SQLite path (the default `rebalancer.db` included) names a file beside the
    config, not in whatever folder the command happens to run from: `history -c work/my.toml`
    finds the journal `run -c work/my.toml` wrote."""
    storage = raw.setdefault("storage", {})
    if not isinstance(storage, dict):
        return  # validation names the problem
    text = storage.get("url", StorageConfig.model_fields["url"].default)
    if not isinstance(text, str):
        return
    try:
        url = make_url(text)
    except ArgumentError:
        return
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return
    if database.startswith("file:") or Path(database).is_absolute():
        return
    storage["url"] = url.set(database=str(folder / database)).render_as_string(hide_password=False)


def _anchor_lots(raw: dict[str, Any], folder: Path) -> None:
    """A relative `portfolio.cost_basis_lots` names a file beside the config."""
    portfolio = raw.get("portfolio")
    if not isinstance(portfolio, dict):
        return  # validation names the problem
    lots = portfolio.get("cost_basis_lots")
    if isinstance(lots, str) and lots and not Path(lots).is_absolute():
        portfolio["cost_basis_lots"] = str(folder / lots)


def settings_from_mapping(
    raw: dict[str, Any], env: Mapping[str, str], source: str, *, credentials: bool = True
) -> Settings:
    try:
        config = AppConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(source, [_describe(err) for err in exc.errors()]) from None
    keys, problems = _credentials(config, env)
    if not credentials:
        problems = []
    try:
        strategy = to_strategy(config)
    except ValueError as exc:
        problems.append(f"hedging: {exc}")
    try:
        basis = _cost_basis(config)
    except CostBasisError as exc:
        problems.append(f"portfolio.cost_basis_lots: {exc}")
    if problems:
        raise ConfigError(source, problems)
    return Settings(
        source, config, strategy, keys, to_carry_terms(config), basis, to_roll_rules(config)
    )


def _cost_basis(config: AppConfig) -> dict[str, Decimal]:
    portfolio = config.portfolio
    lots = read_lots(Path(portfolio.cost_basis_lots)) if portfolio.cost_basis_lots else {}
    return merged(portfolio.cost_basis, lots)


def _credentials(config: AppConfig, env: Mapping[str, str]) -> tuple[Credentials | None, list[str]]:
    ex = config.exchange
    try:
        return read_credentials(ex.api_key_env, ex.api_secret_env, ex.password_env, env), []
    except MissingSecretError as exc:
        if config.mode is Mode.PAPER:
            return None, []
        return None, [f"exchange: {exc} ({config.mode.value} mode needs credentials)"]


def _describe(err: ErrorDetails) -> str:
    loc = [str(part) for part in err["loc"]]
    field = ".".join(loc) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        parent, key = loc[:-1], loc[-1]
        hint = _suggest(parent, key)
        return f"{field}: unknown key{hint}; remove it or fix the spelling"
    if kind == "missing":
        return f"{field}: required but missing; add it"
    message = str(err["msg"]).removeprefix("Value error, ")
    if kind == "value_error" and not loc:
        return message
    return f"{field}: {message}"


def _suggest(parent: list[str], key: str) -> str:
    model: type[BaseModel] | None = AppConfig
    for part in parent:
        field = model.model_fields.get(part) if model else None
        annotation = field.annotation if field else None
        model = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
    if model is None:
        return ""
    close = difflib.get_close_matches(key, list(model.model_fields), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""

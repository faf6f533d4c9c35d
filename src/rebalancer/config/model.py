"""The config file's schema: frozen pydantic models, unknown keys rejected, values checked.

Every validator message says what is wrong and how to fix it; `load.py` prefixes the field.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal

from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from rebalancer.config.policy import CarryConfig, PolicyConfig
from rebalancer.config.values import readable, to_decimal, to_seconds
from rebalancer.domain.strategy import MAX_CAP_SLACK
from rebalancer.notify.config import NotifyConfig

_CRON_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

WEIGHT_TOLERANCE = Decimal("1e-9")
CASH = "cash"

Num = Annotated[Decimal, BeforeValidator(to_decimal)]
Seconds = Annotated[float, BeforeValidator(to_seconds)]


class Mode(Enum):
    LIVE = "live"
    PAPER = "paper"
    DRY_RUN = "dry-run"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


class GroupConfig(_Model):
    name: str = Field(min_length=1)
    members: tuple[str, ...] = Field(min_length=1)
    index: str | None = None

    @field_validator("members")
    @classmethod
    def _upper(cls, members: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(m.strip().upper() for m in members)


class PortfolioConfig(_Model):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    quote: str = Field(default="USDT", pattern=r"^[A-Z0-9]{2,10}$")
    targets: dict[str, Num]
    off_exchange: dict[str, Num] = Field(default_factory=dict)
    groups: tuple[GroupConfig, ...] = ()
    cost_basis: dict[str, Num] = Field(default_factory=dict)  # per coin average cost
    cost_basis_lots: str | None = None  # CSV of lots: asset,quantity,price

    @field_validator("cost_basis")
    @classmethod
    def _costs(cls, costs: dict[str, Decimal]) -> dict[str, Decimal]:
        for asset, cost in costs.items():
            if cost < 0:
                raise ValueError(
                    f"cost basis of {asset} is negative ({readable(cost)}); use an average cost "
                    ">= 0 in the quote"
                )
        return costs

    @field_validator("targets", "off_exchange", "cost_basis", mode="before")
    @classmethod
    def _unique_upper(cls, raw: Any) -> Any:
        if not isinstance(raw, dict):
            return raw
        seen: dict[str, str] = {}
        out: dict[str, Any] = {}
        for key, value in raw.items():
            norm = CASH if key.strip().lower() == CASH else key.strip().upper()
            if norm in seen:
                raise ValueError(
                    f"{key!r} and {seen[norm]!r} name the same asset (case is ignored); keep one"
                )
            seen[norm] = key
            out[norm] = value
        return out

    @field_validator("targets")
    @classmethod
    def _weights(cls, targets: dict[str, Decimal]) -> dict[str, Decimal]:
        for asset, weight in targets.items():
            if weight < 0:
                raise ValueError(
                    f"weight of {asset} is negative ({readable(weight)}); use a value >= 0"
                )
            if weight > 1:
                raise ValueError(
                    f"weight of {asset} is above 1 ({readable(weight)}); weights are fractions"
                )
        total = sum(targets.values(), Decimal(0))
        if abs(total - 1) > WEIGHT_TOLERANCE:
            raise ValueError(
                f"weights sum to {readable(total)}, not 1; adjust them (include `cash`) "
                "so they add up to 1"
            )
        if not any(a != CASH for a in targets):
            raise ValueError("no asset targets; list at least one asset besides cash")
        return targets

    @field_validator("off_exchange")
    @classmethod
    def _holdings(cls, holdings: dict[str, Decimal]) -> dict[str, Decimal]:
        for asset, quantity in holdings.items():
            if quantity < 0:
                raise ValueError(
                    f"{asset} holding is negative ({readable(quantity)}); use a quantity >= 0"
                )
        return holdings

    @model_validator(mode="after")
    def _groups(self) -> PortfolioConfig:
        assets = set(self.asset_weights)
        seen: dict[str, str] = {}
        names: set[str] = set()
        for group in self.groups:
            if group.name.upper() in names:
                raise ValueError(f"group name {group.name!r} is used twice; rename one")
            names.add(group.name.upper())
            for member in group.members:
                if member not in assets:
                    raise ValueError(
                        f"group {group.name!r} member {member} is not a target asset; "
                        f"add {member} to portfolio.targets or remove it from the group"
                    )
                if member in seen:
                    raise ValueError(
                        f"{member} is in groups {seen[member]!r} and {group.name!r}; keep it in one"
                    )
                seen[member] = group.name
        return self

    @property
    def asset_weights(self) -> dict[str, Decimal]:
        return {a: w for a, w in self.targets.items() if a != CASH}

    @property
    def cash_weight(self) -> Decimal:
        return self.targets.get(CASH, Decimal(0))


# The ccxt ids with a venue dialect (rebalancer.exchange.venues keeps one per id).
SUPPORTED_VENUES = ("binance", "binanceusdm", "bybit", "okx")
PASSPHRASE_VENUES = ("okx",)  # API keys come with a passphrase
# The venues the local emulator speaks (`rebalancer emulator --venue`, `rebalancer demo --venue`).
EMULATED_VENUES = ("binance", "bybit", "okx")


class ExchangeConfig(_Model):
    id: str = Field(default="binance", pattern=r"^[a-z0-9_]+$")
    api_key_env: str = Field(default="REBALANCER_API_KEY", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    api_secret_env: str = Field(
        default="REBALANCER_API_SECRET", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$"
    )
    password_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    sandbox: bool = False
    options: dict[str, Any] = Field(default_factory=dict)
    urls: dict[str, Any] = Field(default_factory=dict)
    accept_withdrawal_permission: bool = False

    @field_validator("id")
    @classmethod
    def _supported(cls, value: str) -> str:
        if value not in SUPPORTED_VENUES:
            raise ValueError(
                f"{value!r} is not a supported venue; supported: {', '.join(SUPPORTED_VENUES)}"
            )
        return value

    @model_validator(mode="after")
    def _passphrase(self) -> ExchangeConfig:
        if self.id in PASSPHRASE_VENUES and self.password_env is None:
            raise ValueError(
                f"{self.id} API keys have a passphrase: set exchange.password_env to the name of "
                'the environment variable that holds it (e.g. password_env = "OKX_PASSPHRASE")'
            )
        return self

    @field_validator("options", "urls")
    @classmethod
    def _no_secrets(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if key.lower() in {"apikey", "secret", "password", "privatekey", "uid"}:
                raise ValueError(
                    f"{key!r} looks like a credential; credentials come only from the environment "
                    "(api_key_env / api_secret_env)"
                )
        return value


class ProxyConfig(_Model):
    instrument: str = Field(min_length=1)
    beta: Num = Decimal(1)

    @field_validator("beta")
    @classmethod
    def _beta(cls, beta: Decimal) -> Decimal:
        if not Decimal(0) < beta <= Decimal(10):
            raise ValueError(f"beta {readable(beta)} is out of range; use a value in (0, 10]")
        return beta


class HedgingConfig(_Model):
    max_leverage: Num = Decimal(1)
    margin_mode: Literal["cross", "isolated"] = "cross"
    rebalance_to: Literal["target", "band"] = "target"
    min_trade_notional: Num = Decimal(0)
    collateral_buffer: Num = Decimal(0)
    cap_slack: Num = Decimal(0)
    instruments: dict[str, str] = Field(default_factory=dict)
    proxies: dict[str, ProxyConfig] = Field(default_factory=dict)
    max_borrow: Num | None = None
    borrow_stress: Num = Decimal("0.25")

    @field_validator("max_leverage")
    @classmethod
    def _leverage(cls, value: Decimal) -> Decimal:
        if not Decimal(0) < value <= Decimal(1):
            raise ValueError(
                f"max_leverage {readable(value)} is out of range; "
                "use a value in (0, 1] (1 means 1x)"
            )
        return value

    @field_validator("min_trade_notional")
    @classmethod
    def _min_trade(cls, value: Decimal) -> Decimal:
        if value < 0:
            raise ValueError(f"min_trade_notional {readable(value)} is negative; use 0 or more")
        return value

    @field_validator("collateral_buffer")
    @classmethod
    def _buffer(cls, value: Decimal) -> Decimal:
        if not Decimal(0) <= value <= Decimal("0.5"):
            raise ValueError(
                f"collateral_buffer {readable(value)} is out of range; "
                "use a fraction in [0, 0.5], e.g. 0.02"
            )
        return value

    @field_validator("cap_slack")
    @classmethod
    def _cap_slack(cls, value: Decimal) -> Decimal:
        if not Decimal(0) <= value <= MAX_CAP_SLACK:
            raise ValueError(
                f"cap_slack {readable(value)} is out of range; use a fraction in "
                f"[0, {MAX_CAP_SLACK}] (0 re-fits the hedges to the cap at every plan), e.g. 0.05"
            )
        return value

    @field_validator("max_borrow")
    @classmethod
    def _max_borrow(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and not Decimal(0) <= value <= Decimal(1):
            raise ValueError(
                f"max_borrow {readable(value)} is out of range; use a share of equity in "
                "[0, 1], e.g. 0.3, or omit it for no limit"
            )
        return value

    @field_validator("borrow_stress")
    @classmethod
    def _borrow_stress(cls, value: Decimal) -> Decimal:
        if not Decimal(0) < value <= Decimal(1):
            raise ValueError(
                f"borrow_stress {readable(value)} is out of range; use an adverse price move "
                "in (0, 1], e.g. 0.25"
            )
        return value

    @field_validator("instruments", "proxies", mode="before")
    @classmethod
    def _upper_keys(cls, raw: Any) -> Any:
        if isinstance(raw, dict):
            return {str(k).strip().upper(): v for k, v in raw.items()}
        return raw


class ScheduleConfig(_Model):
    trigger: Literal["calendar", "threshold", "both"] = "both"
    cron: str | None = "0 0 1 */3 *"
    timezone: str = "UTC"
    drift_check_interval: Seconds = 3600.0
    drift_abs: Num | None = Decimal("0.05")
    drift_rel: Num | None = Decimal("0.25")

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            trigger = CronTrigger.from_crontab(value, timezone="UTC")
        except ValueError as exc:
            raise ValueError(
                f"{value!r} is not a cron expression ({exc}); use 5 fields, "
                "e.g. '0 0 1 */3 *' for quarterly"
            ) from None
        # Five fields repeat within four years (29 February), so one that has no fire time
        # after a fixed start never fires: e.g. the 31st of February.
        if trigger.get_next_fire_time(None, _CRON_EPOCH) is None:
            raise ValueError(
                f"{value!r} never fires (no month has that day); use a day that exists, "
                "e.g. '0 0 28 2 *' or '0 0 1 */3 *'"
            )
        return value

    @field_validator("drift_check_interval")
    @classmethod
    def _interval(cls, value: float) -> float:
        if not 1 <= value <= 7 * 86400:
            raise ValueError(f"{value:g}s is out of range; use between 1s and 7d")
        return value

    @field_validator("drift_abs")
    @classmethod
    def _abs(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and not Decimal(0) < value < Decimal(1):
            raise ValueError(
                f"drift_abs {readable(value)} is out of range; "
                "use weight points in (0, 1), e.g. 0.05"
            )
        return value

    @field_validator("drift_rel")
    @classmethod
    def _rel(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and not Decimal(0) < value <= Decimal(10):
            raise ValueError(
                f"drift_rel {readable(value)} is out of range; "
                "use a fraction of the weight in (0, 10], e.g. 0.25"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ScheduleConfig:
        if self.trigger in ("calendar", "both") and self.cron is None:
            raise ValueError(f"trigger {self.trigger!r} needs a cron expression; set cron")
        if (
            self.trigger in ("threshold", "both")
            and self.drift_abs is None
            and (self.drift_rel is None)
        ):
            raise ValueError(f"trigger {self.trigger!r} needs drift_abs or drift_rel; set one")
        return self


class StorageConfig(_Model):
    url: str = "sqlite:///rebalancer.db"

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(
                "is not a database URL; use sqlite:///path.db or postgresql+psycopg://user@host/db"
            ) from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(
                f"backend {url.get_backend_name()!r} is not supported; use sqlite or postgresql"
            )
        return value


class SafetyConfig(_Model):
    """Limits that refuse a plan, stop trading, or raise an alert."""

    max_order_notional: Num | None = None
    max_cycle_notional: Num | None = None
    max_consecutive_failures: int = Field(default=3, ge=1, le=100)
    margin_alert_distance: Num = Decimal("0.25")
    maintenance_margin_rate: Num = Decimal("0.005")
    top_up_from_spot: bool = False
    top_up_max: Num = Decimal(0)

    @field_validator("max_order_notional", "max_cycle_notional")
    @classmethod
    def _positive(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value <= 0:
            raise ValueError(
                f"{readable(value)} is not a positive amount; use a quote amount > 0 or omit it"
            )
        return value

    @field_validator("margin_alert_distance", "maintenance_margin_rate")
    @classmethod
    def _fraction(cls, value: Decimal) -> Decimal:
        if not Decimal(0) < value < Decimal(1):
            raise ValueError(
                f"{readable(value)} is out of range; use a fraction in (0, 1), e.g. 0.25"
            )
        return value

    @model_validator(mode="after")
    def _top_up(self) -> SafetyConfig:
        if self.top_up_from_spot and self.top_up_max <= 0:
            raise ValueError(
                "top_up_from_spot needs top_up_max > 0 (the most moved per cycle or alert, in "
                "the quote)"
            )
        return self


PAPER_ACCOUNT_MISSING = (
    'paper: mode "paper" simulates an account, and this config gives it nothing to hold; add '
    "a [paper] section with its holdings, e.g. spot = { BTC = 0.14, ETH = 1.2 } and "
    "futures_wallet = 2000 (see config/paper.toml)"
)


class PaperConfig(_Model):
    """The simulated account paper mode starts from (then kept in the journal database)."""

    spot: dict[str, Num] = Field(default_factory=dict)
    futures_wallet: Num = Decimal(0)
    taker_fee: Num = Decimal("0.0005")
    slippage_bps: Num = Decimal(2)
    # "unified": one account, coins are collateral at [simulation] haircuts, the quote may be
    # borrowed at [simulation] borrow_rate (Bybit UTA, OKX multi-currency).
    account: Literal["segregated", "unified"] = "segregated"

    @field_validator("spot", mode="before")
    @classmethod
    def _upper(cls, raw: Any) -> Any:
        return {str(k).strip().upper(): v for k, v in raw.items()} if isinstance(raw, dict) else raw

    @model_validator(mode="after")
    def _non_negative(self) -> PaperConfig:
        for name, value in [
            *self.spot.items(),
            ("futures_wallet", self.futures_wallet),
            ("taker_fee", self.taker_fee),
            ("slippage_bps", self.slippage_bps),
        ]:
            if value < 0:
                raise ValueError(f"{name} is negative ({readable(value)}); use 0 or more")
        return self

    @property
    def funded(self) -> bool:
        """Whether there is an account to simulate (anything held in spot or the wallet)."""
        return self.futures_wallet > 0 or any(v > 0 for v in self.spot.values())


def missing_haircut(assets: list[str]) -> str:
    """The one message for a unified simulation without a collateral ratio for some asset."""
    return (
        f"simulation.haircuts has no collateral ratio for {', '.join(assets)}; add it under "
        f"[simulation], e.g. haircuts = {{ {assets[0]} = 0.8 }}"
    )


class SimulationConfig(_Model):
    """`[simulation]`: what the simulated unified account assumes (DESIGN §2), in paper mode
    (`[paper] account = "unified"`) and in `rebalancer backtest --account unified`. `haircuts`
    is each coin's collateral ratio, the share of its value that counts as collateral (0.95:
    counted at 95 %); `borrow_rate` the annual interest on borrowed quote."""

    haircuts: dict[str, Num] = Field(
        default_factory=lambda: {"BTC": Decimal("0.95"), "ETH": Decimal("0.95")}
    )
    borrow_rate: Num = Decimal("0.10")

    @field_validator("haircuts", mode="before")
    @classmethod
    def _upper(cls, raw: Any) -> Any:
        return {str(k).strip().upper(): v for k, v in raw.items()} if isinstance(raw, dict) else raw

    @field_validator("haircuts")
    @classmethod
    def _ratios(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for asset, ratio in value.items():
            if not Decimal(0) <= ratio <= Decimal(1):
                raise ValueError(
                    f"{asset} = {readable(ratio)} is out of range; use the share of the coin's "
                    "value that counts as collateral, in [0, 1], e.g. 0.95"
                )
        return value

    @field_validator("borrow_rate")
    @classmethod
    def _rate(cls, value: Decimal) -> Decimal:
        if not Decimal(0) <= value <= Decimal(5):
            raise ValueError(
                f"borrow_rate {readable(value)} is out of range; use an annual fraction in "
                "[0, 5], e.g. 0.10 for 10 %/yr"
            )
        return value


LOOPBACK = "127.0.0.1"


def check_loopback(host: str) -> None:
    """Refuse any bind address but IPv4 loopback: the endpoint has no authentication."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback and ":" not in host
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"{host!r} is not loopback; the health endpoint binds to {LOOPBACK} only")


class HealthConfig(_Model):
    """The `[health]` section; `max_cycle_age_seconds` should exceed the drift-check interval."""

    enabled: bool = False
    host: str = LOOPBACK
    port: int = Field(default=9478, ge=1, le=65535)
    max_cycle_age_seconds: float = Field(default=3 * 3600.0, gt=0)

    @field_validator("host")
    @classmethod
    def _loopback(cls, host: str) -> str:
        check_loopback(host)
        return host


class WebConfig(_Model):
    """The `[web]` section: where `rebalancer web` listens. Loopback unless set here on
    purpose; read-only unless `$REBALANCER_WEB_TOKEN` is set when the server starts."""

    host: str = Field(default=LOOPBACK, min_length=1)
    port: int = Field(default=8478, ge=1, le=65535)


class DaemonConfig(_Model):
    """How the long-lived process logs: JSON lines, or readable lines ("auto": JSON unless
    standard error is a terminal)."""

    log_format: Literal["auto", "json", "console"] = "auto"


class AppConfig(_Model):
    """The whole config file."""

    mode: Mode = Mode.PAPER
    confirm_live: bool = False
    portfolio: PortfolioConfig
    exchange: ExchangeConfig = Field(default_factory=ExchangeConfig)
    hedging: HedgingConfig = Field(default_factory=HedgingConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    safety: SafetyConfig = Field(default_factory=SafetyConfig)
    paper: PaperConfig = Field(default_factory=PaperConfig)
    simulation: SimulationConfig = Field(default_factory=SimulationConfig)
    daemon: DaemonConfig = Field(default_factory=DaemonConfig)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    carry: CarryConfig = Field(default_factory=CarryConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)

    @model_validator(mode="after")
    def _cross_checks(self) -> AppConfig:
        assets = set(self.portfolio.asset_weights)
        for section in ("instruments", "proxies"):
            for asset in getattr(self.hedging, section):
                if asset not in assets:
                    raise ValueError(
                        f"hedging.{section}.{asset}: {asset} is not a target asset; "
                        f"add it to portfolio.targets or remove this entry"
                    )
        both = sorted(set(self.hedging.instruments) & set(self.hedging.proxies))
        if both:
            raise ValueError(
                f"hedging: {both[0]} is in both instruments and proxies; keep one of them"
            )
        if self.policy.top_up and self.safety.top_up_max <= 0:
            raise ValueError(
                "policy 'top-up' needs safety.top_up_max > 0 (the most moved per cycle or "
                "alert, in the quote)"
            )
        if self.hedging.rebalance_to == "band" and (
            self.schedule.drift_abs is None and self.schedule.drift_rel is None
        ):
            raise ValueError(
                "hedging.rebalance_to = 'band' needs schedule.drift_abs or schedule.drift_rel"
            )
        if self.paper.account == "unified":
            missing = sorted(assets - set(self.simulation.haircuts))
            if missing:
                raise ValueError(missing_haircut(missing))
        return self

    @property
    def top_up_enabled(self) -> bool:
        """The top-up policy: `policy.enabled = ["top-up"]`, or the older
        `safety.top_up_from_spot = true` (the same policy, one switch)."""
        return self.policy.top_up or self.safety.top_up_from_spot

    def instrument_for(self, asset: str) -> str:
        """The perp that hedges an asset: configured, else `<ASSET>/<QUOTE>:<QUOTE>`."""
        proxy = self.hedging.proxies.get(asset)
        if proxy is not None:
            return proxy.instrument
        quote = self.portfolio.quote
        return self.hedging.instruments.get(asset, f"{asset}/{quote}:{quote}")

"""The `[carry]` and `[policy]` sections: the hedge-or-sell projection's rates, and the
policies the live cycle may apply (off by default)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, field_validator, model_validator

from rebalancer.config.values import readable, to_decimal, to_seconds

Num = Annotated[Decimal, BeforeValidator(to_decimal)]
Seconds = Annotated[float, BeforeValidator(to_seconds)]

POLICIES = ("roll", "top-up")
ROLL_CONDITIONS = ("cap", "collateral", "borrowing", "carry")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CarryConfig(_Model):
    """Rates for the projected carry of each plan line's hedge (figures only)."""

    horizon: Seconds = 30 * 86400.0
    # per interval, > 0: longs pay; used where the snapshot has no current rate from the venue
    funding_rate: Num = Decimal("0.0001")
    funding_interval: Seconds = 8 * 3600.0
    borrow_rate: Num = Decimal("0.10")  # per year, on a unified account's borrowed quote
    spot_fee: Num = Decimal("0.001")
    slippage_bps: Num = Decimal(2)

    @field_validator("horizon", "funding_interval")
    @classmethod
    def _duration(cls, value: float) -> float:
        if not 3600 <= value <= 366 * 86400:
            raise ValueError(f"{value:g}s is out of range; use between 1h and 366d, e.g. 30d")
        return value

    @field_validator("funding_rate")
    @classmethod
    def _rate(cls, value: Decimal) -> Decimal:
        if abs(value) > Decimal("0.05"):
            raise ValueError(
                f"funding_rate {readable(value)} is out of range; use a rate per interval "
                "within +-0.05, e.g. 0.0001 (0.01 %)"
            )
        return value

    @field_validator("borrow_rate", "spot_fee", "slippage_bps")
    @classmethod
    def _non_negative(cls, value: Decimal) -> Decimal:
        if not Decimal(0) <= value <= Decimal(100):
            raise ValueError(f"{readable(value)} is out of range; use a value in [0, 100]")
        return value


class PolicyConfig(_Model):
    """What the live cycle may do beyond the planned hedges: `roll`, `top-up` (none by default)."""

    enabled: tuple[str, ...] = ()
    allow_spot_sales: bool = False
    roll_on: tuple[str, ...] = ROLL_CONDITIONS
    collateral_floor: Num | None = None  # collateral below this share of the gross hedge

    @field_validator("enabled", "roll_on", mode="before")
    @classmethod
    def _names(cls, raw: Any) -> Any:
        if isinstance(raw, str):
            return (raw,)
        return raw

    @field_validator("enabled")
    @classmethod
    def _known(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        for name in names:
            if name not in POLICIES:
                raise ValueError(
                    f"unknown policy {name!r}; use any of {', '.join(POLICIES)} or leave it empty"
                )
        return names

    @field_validator("roll_on")
    @classmethod
    def _conditions(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        for name in names:
            if name not in ROLL_CONDITIONS:
                raise ValueError(
                    f"unknown roll condition {name!r}; use any of {', '.join(ROLL_CONDITIONS)}"
                )
        return names

    @field_validator("collateral_floor")
    @classmethod
    def _floor(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and not Decimal(0) < value <= Decimal(10):
            raise ValueError(
                f"collateral_floor {readable(value)} is out of range; use a share of the gross "
                "hedge in (0, 10], e.g. 0.5"
            )
        return value

    @model_validator(mode="after")
    def _spot_sales(self) -> PolicyConfig:
        if "roll" in self.enabled and not self.allow_spot_sales:
            raise ValueError(
                "policy 'roll' sells spot; set policy.allow_spot_sales = true to allow it, "
                "or remove 'roll' from policy.enabled"
            )
        return self

    @property
    def roll(self) -> bool:
        return "roll" in self.enabled

    @property
    def top_up(self) -> bool:
        return "top-up" in self.enabled

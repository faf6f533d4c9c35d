"""The snapshot JSON format: reading it into a domain `Snapshot` and writing one out.

Numbers are parsed as Decimal straight from the JSON text (never through a binary float) and
written as strings. The format is documented in the README ("Snapshot files").
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rebalancer.domain.market import MarketRules
from rebalancer.domain.snapshot import AccountKind, PerpState, Snapshot, SpotHolding

FORMAT = "futures-rebalancer/snapshot@1"


class SnapshotFileError(Exception):
    """A snapshot file that cannot be used; `problems` holds one line each."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Spot(_Strict):
    price: Decimal = Field(gt=0)
    exchange: Decimal = Field(default=Decimal(0), ge=0)
    off_exchange: Decimal = Field(default=Decimal(0), ge=0)


class _Perp(_Strict):
    mark: Decimal = Field(gt=0)
    position: Decimal = Decimal(0)
    amount_step: Decimal = Field(gt=0)
    min_amount: Decimal = Field(default=Decimal(0), ge=0)
    min_notional: Decimal = Field(default=Decimal(0), ge=0)
    contract_size: Decimal = Field(default=Decimal(1), gt=0)
    taker_fee: Decimal = Field(default=Decimal(0), ge=0, lt=Decimal("0.1"))
    price_step: Decimal | None = Field(default=None, gt=0)
    funding_rate: Decimal | None = None


class _Account(_Strict):
    kind: AccountKind = AccountKind.SEGREGATED
    collateral_value: Decimal | None = None
    maintenance_margin: Decimal | None = Field(default=None, ge=0)


class _File(_Strict):
    format: str = FORMAT
    taken_at: datetime
    quote: str = Field(min_length=1)
    cash: Decimal = Decimal(0)  # >= 0 unless the account is unified (checked by the domain)
    futures_equity: Decimal
    account: _Account = Field(default_factory=_Account)
    spot: dict[str, _Spot] = Field(default_factory=dict)
    perps: dict[str, _Perp] = Field(default_factory=dict)

    @field_validator("format")
    @classmethod
    def _format(cls, value: str) -> str:
        if value != FORMAT:
            raise ValueError(f"unsupported format {value!r}; this version reads {FORMAT!r}")
        return value

    @field_validator("taken_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("has no time zone; write it in UTC, e.g. 2026-01-01T00:00:00Z")
        return value.astimezone(UTC)


def read_snapshot(path: str | Path) -> Snapshot:
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SnapshotFileError(source, ["file not found"]) from None
    except OSError as exc:
        raise SnapshotFileError(source, [f"cannot be read ({exc.strerror})"]) from None
    except UnicodeDecodeError:
        raise SnapshotFileError(source, ["is not UTF-8 text"]) from None
    return parse_snapshot(text, source)


def parse_snapshot(text: str, source: str = "<snapshot>") -> Snapshot:
    try:
        raw = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise SnapshotFileError(
            source, [f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"]
        ) from None
    try:
        data = _File.model_validate(raw)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: "
            f"{str(err['msg']).removeprefix('Value error, ')}"
            for err in exc.errors()
        ]
        raise SnapshotFileError(source, problems) from None
    try:
        return _to_domain(data)
    except ValueError as exc:
        raise SnapshotFileError(source, [str(exc)]) from None


def _to_domain(data: _File) -> Snapshot:
    spot = {
        asset.upper(): SpotHolding(asset.upper(), s.price, s.exchange, s.off_exchange)
        for asset, s in data.spot.items()
    }
    perps = {
        symbol: PerpState(
            MarketRules(
                symbol=symbol,
                amount_step=p.amount_step,
                min_amount=p.min_amount,
                min_notional=p.min_notional,
                contract_size=p.contract_size,
                taker_fee=p.taker_fee,
                price_step=p.price_step,
            ),
            mark=p.mark,
            position=p.position,
            funding_rate=p.funding_rate,
        )
        for symbol, p in data.perps.items()
    }
    return Snapshot(
        data.taken_at,
        data.quote,
        data.cash,
        data.futures_equity,
        spot,
        perps,
        kind=data.account.kind,
        collateral_value=data.account.collateral_value,
        maintenance_margin=data.account.maintenance_margin,
    )


def snapshot_to_dict(snapshot: Snapshot) -> dict[str, Any]:
    """The file form of a snapshot, with every number as a string."""
    document: dict[str, Any] = {
        "format": FORMAT,
        "taken_at": snapshot.taken_at.isoformat().replace("+00:00", "Z"),
        "quote": snapshot.quote,
        "cash": str(snapshot.cash),
        "futures_equity": str(snapshot.futures_equity),
        "spot": {
            a: {
                "price": str(h.price),
                "exchange": str(h.exchange),
                "off_exchange": str(h.off_exchange),
            }
            for a, h in sorted(snapshot.spot.items())
        },
        "perps": {s: _perp_to_dict(p) for s, p in sorted(snapshot.perps.items())},
    }
    if snapshot.kind is not AccountKind.SEGREGATED or snapshot.maintenance_margin is not None:
        account: dict[str, str] = {"kind": snapshot.kind.value}
        if snapshot.collateral_value is not None:
            account["collateral_value"] = str(snapshot.collateral_value)
        if snapshot.maintenance_margin is not None:
            account["maintenance_margin"] = str(snapshot.maintenance_margin)
        document["account"] = account
    return document


def _perp_to_dict(perp: PerpState) -> dict[str, str]:
    rules = perp.rules
    document = {
        "mark": str(perp.mark),
        "position": str(perp.position),
        "amount_step": str(rules.amount_step),
        "min_amount": str(rules.min_amount),
        "min_notional": str(rules.min_notional),
        "contract_size": str(rules.contract_size),
        "taker_fee": str(rules.taker_fee),
    }
    if rules.price_step is not None:
        document["price_step"] = str(rules.price_step)
    if perp.funding_rate is not None:
        document["funding_rate"] = str(perp.funding_rate)
    return document

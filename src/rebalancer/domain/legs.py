"""From a line's allowed hedge to exchange-sized position changes ("moves") per instrument.

Each instrument's wanted position is rounded to the exchange's step without growing past the
wanted size. A change that crosses zero is split into a reduce-only close and an opening
move, so that reductions can be sent first. A move the exchange would refuse (below the
minimum amount, or an increase below the minimum notional; Binance exempts reduce-only orders
from the notional floor) carries that refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rebalancer.domain.exposure import LineState
from rebalancer.domain.market import ZERO, round_position
from rebalancer.domain.plan import SkipReason
from rebalancer.domain.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class Move:
    """One order-sized change of one position (base units, signed)."""

    line: str
    instrument: str
    seq: int  # 0 for a plain move or the closing half of a flip, 1 for the opening half
    quantity: Decimal
    position_before: Decimal
    mark: Decimal
    contract_size: Decimal
    reduces: bool
    refusal: SkipReason | None = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.instrument, self.seq)

    @property
    def notional(self) -> Decimal:
        return abs(self.quantity) * self.mark


def line_moves(state: LineState, allowed_hedge: Decimal, snapshot: Snapshot) -> list[Move]:
    """The moves that take each leg of a line to its share of the allowed hedge notional."""
    moves: list[Move] = []
    for leg in state.line.legs:
        perp = snapshot.perps[leg.instrument]
        wanted = allowed_hedge * leg.share / perp.mark
        target = round_position(perp.position, wanted, perp.rules.base_step)
        moves.extend(_split(state.line.name, leg.instrument, perp.position, target, snapshot))
    return moves


def _split(
    line: str, instrument: str, current: Decimal, target: Decimal, snapshot: Snapshot
) -> list[Move]:
    if target == current:
        return []
    flips = current != 0 and target != 0 and (current > 0) != (target > 0)
    if flips:
        return [
            _move(line, instrument, seq=0, before=current, quantity=-current, snapshot=snapshot),
            _move(line, instrument, seq=1, before=ZERO, quantity=target, snapshot=snapshot),
        ]
    change = target - current
    return [_move(line, instrument, seq=0, before=current, quantity=change, snapshot=snapshot)]


def _move(
    line: str,
    instrument: str,
    *,
    seq: int,
    before: Decimal,
    quantity: Decimal,
    snapshot: Snapshot,
) -> Move:
    perp = snapshot.perps[instrument]
    rules = perp.rules
    reduces = abs(before + quantity) < abs(before)
    contracts = abs(quantity) / rules.contract_size
    refusal: SkipReason | None = None
    if contracts < rules.min_amount:
        refusal = SkipReason.BELOW_MIN_AMOUNT
    elif not reduces and abs(quantity) * perp.mark < rules.min_notional:
        refusal = SkipReason.BELOW_MIN_NOTIONAL
    return Move(
        line=line,
        instrument=instrument,
        seq=seq,
        quantity=quantity,
        position_before=before,
        mark=perp.mark,
        contract_size=rules.contract_size,
        reduces=reduces,
        refusal=refusal,
    )

"""From a line's hedge to exchange-sized position changes ("moves") per instrument.

Each instrument's wanted position is rounded to the exchange's step without growing past the
wanted size. A change that crosses zero is split into a reduce-only close and an opening
move, so that reductions can be sent first; where the exchange would refuse one half but take
the whole change as one order, it is one (not reduce-only) order from the real position. A
move the exchange would refuse (below the minimum amount, or an increase below the minimum
notional; Binance exempts reduce-only orders from the notional floor) carries that refusal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from rebalancer.domain.exposure import LineState
from rebalancer.domain.market import ZERO, round_position
from rebalancer.domain.plan import SkipReason
from rebalancer.domain.snapshot import PerpState, Snapshot
from rebalancer.domain.strategy import Leg


@dataclass(frozen=True, slots=True)
class Move:
    """One order-sized change of one position (base units, signed)."""

    line: str
    instrument: str
    seq: int  # 0 for a plain move or the closing half of a flip, 1 for the opening half
    quantity: Decimal
    position_before: Decimal  # the real position when this order is sent
    mark: Decimal
    contract_size: Decimal
    reduces: bool  # shrinks |position| without crossing zero: may be sent reduce-only
    taker_fee: Decimal = ZERO
    refusal: SkipReason | None = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.instrument, self.seq)

    @property
    def notional(self) -> Decimal:
        return abs(self.quantity) * self.mark

    @property
    def position_after(self) -> Decimal:
        return self.position_before + self.quantity


def line_positions(
    state: LineState, free_hedge: Decimal, snapshot: Snapshot, pins: Mapping[str, Decimal]
) -> dict[str, Decimal]:
    """Each leg's wanted position: pinned legs stay pinned, the free legs share `free_hedge`.

    Free legs split the hedge by their shares, renormalised over the legs still free; if only
    zero-share legs are free (an index line's member perps), they go to zero.
    """
    perps = snapshot.perps
    positions: dict[str, Decimal] = {}
    free: list[Leg] = []
    total = ZERO
    for leg in state.line.legs:
        pin = pins.get(leg.instrument)
        if pin is None:
            free.append(leg)
            total += leg.share
        else:
            positions[leg.instrument] = pin
    for leg in free:
        perp = perps[leg.instrument]
        wanted = free_hedge * leg.share / total / perp.mark if total else ZERO
        positions[leg.instrument] = round_position(perp.position, wanted, perp.rules.base_step)
    return positions


def leg_moves(line: str, perp: PerpState, target: Decimal) -> list[Move]:
    """The orders that take one instrument from its position to `target`."""
    current = perp.position
    if target == current:
        return []
    if current == 0 or target == 0 or (current > 0) == (target > 0):
        return [_move(line, perp, seq=0, before=current, quantity=target - current)]
    close = _move(line, perp, seq=0, before=current, quantity=-current)
    reopen = _move(line, perp, seq=1, before=ZERO, quantity=target)
    if close.refusal is None and reopen.refusal is None:
        return [close, reopen]
    whole = _move(line, perp, seq=0, before=current, quantity=target - current)
    if whole.refusal is None or close.refusal is not None:
        return [whole]
    return [close, reopen]  # the close alone still helps; the reopening half is refused


def _move(line: str, perp: PerpState, *, seq: int, before: Decimal, quantity: Decimal) -> Move:
    rules = perp.rules
    after = before + quantity
    reduces = before != 0 and after * before >= 0 and abs(after) < abs(before)
    contracts = abs(quantity) / rules.contract_size
    refusal: SkipReason | None = None
    if contracts < rules.min_amount:
        refusal = SkipReason.BELOW_MIN_AMOUNT
    elif not reduces and abs(quantity) * perp.mark < rules.min_notional:
        refusal = SkipReason.BELOW_MIN_NOTIONAL
    # Positional, in field order (line, instrument, seq, quantity, position_before, mark,
    # contract_size, reduces, taker_fee, refusal): a plan makes many.
    return Move(
        line,
        rules.symbol,
        seq,
        quantity,
        before,
        perp.mark,
        rules.contract_size,
        reduces,
        rules.taker_fee,
        refusal,
    )

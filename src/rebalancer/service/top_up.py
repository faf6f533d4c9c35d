"""The top-up policy's one piece of I/O: decide (`domain.top_up`, pure) and move the quote.

Called by every cycle (journaled with its run) and by the daemon on a margin alert between
cycles. A transfer is a write: the trading gate is checked first, and a dry-run only says
what it would move. Never raises for the exchange or a halt: the outcome says what happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rebalancer.config import Settings
from rebalancer.domain.margin import margin_health
from rebalancer.domain.snapshot import Snapshot
from rebalancer.domain.top_up import TopUpAction, TopUpDecision, decide_top_up
from rebalancer.exchange.errors import ExchangeFailure
from rebalancer.exchange.port import ExchangeGateway
from rebalancer.service.controls import TradingGate, TradingStopped

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class TopUpOutcome:
    decision: TopUpDecision
    kind: str  # the journal event: policy_top_up[_idle|_refused|_due|_failed]
    text: str  # one line: "top-up: moved 100 USDT ..." / "top-up idle: ..." / ...
    moved: Decimal = ZERO

    @property
    def acted(self) -> bool:
        return self.moved > 0

    @property
    def notable(self) -> bool:
        """Worth a notification: the margin called for a move, and quote moved or would have
        (dry-run, trading stopped, the transfer failed). Idle and a refusal for the account's
        kind (unified, paper) are journaled only."""
        return self.decision.action is TopUpAction.MOVE


async def top_up(
    settings: Settings,
    gateway: ExchangeGateway,
    gate: TradingGate,
    snapshot: Snapshot,
    *,
    mode: str,
    again: bool = True,
) -> TopUpOutcome | None:
    """Apply the top-up policy to `snapshot` (None: the policy is off). `again=False`: quote
    was already moved in this excursion below the alert (the daemon moves once per alert)."""
    health = margin_health(snapshot, settings.config.safety.maintenance_margin_rate)
    decision = decide_top_up(health, snapshot.cash, settings.top_up, mode=mode)
    if decision is None:
        return None
    quote = settings.config.portfolio.quote
    if decision.action is not TopUpAction.MOVE:
        kind = f"policy_top_up_{decision.action.value}"
        return TopUpOutcome(decision, kind, decision.describe(quote))
    if not again:
        text = f"top-up idle: already moved {quote} during this margin alert"
        return TopUpOutcome(decision, "policy_top_up_idle", text)
    if mode == "dry-run":
        text = f"dry-run: would {decision.describe(quote).removeprefix('top-up: ')}"
        return TopUpOutcome(decision, "policy_top_up_due", f"top-up {text}")
    return await _move(decision, gateway, gate, quote)


async def _move(
    decision: TopUpDecision, gateway: ExchangeGateway, gate: TradingGate, quote: str
) -> TopUpOutcome:
    try:
        gate.check()
        moved = await gateway.top_up_futures(decision.amount)
    except TradingStopped as exc:
        return TopUpOutcome(decision, "policy_top_up_refused", f"top-up refused: {exc}")
    except ExchangeFailure as exc:
        return TopUpOutcome(decision, "policy_top_up_failed", f"top-up failed: {exc}")
    if moved <= 0:
        text = f"top-up idle: no free {quote} in spot to move"
        return TopUpOutcome(decision, "policy_top_up_idle", text)
    text = f"top-up: moved {moved:f} {quote} from spot to futures ({decision.reason})"
    return TopUpOutcome(decision, "policy_top_up", text, moved)

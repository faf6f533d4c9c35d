"""Binance error replies: the `{"code": -2019, "msg": "..."}` bodies and their HTTP statuses.

Handlers raise `BinanceError`; the server turns it into the JSON body Binance would send. The
constructors below carry Binance's exact messages because ccxt matches some of them verbatim.
"""

from __future__ import annotations

from rebalancer.sim import Rejection, RejectReason


class BinanceError(Exception):
    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg
        self.status = status

    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}


def bad_param(name: str) -> BinanceError:
    return BinanceError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def invalid_symbol() -> BinanceError:
    return BinanceError(-1121, "Invalid symbol.")


def order_not_found() -> BinanceError:
    return BinanceError(-2013, "Order does not exist.")


def unknown_order() -> BinanceError:
    return BinanceError(-2011, "Unknown order sent.")


def timestamp_outside_window() -> BinanceError:
    return BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")


def unknown_execution() -> BinanceError:
    # Binance futures answer a backend timeout with HTTP 408 and this code: the order may or may
    # not have been executed.
    return BinanceError(
        -1007,
        "Timeout waiting for response from backend server. Send status unknown; "
        "execution status unknown.",
        status=408,
    )


_FUTURES_CODES: dict[RejectReason, tuple[int, str]] = {
    RejectReason.LOT_SIZE_STEP: (-1111, "Precision is over the maximum defined for this asset."),
    RejectReason.INVALID_QUANTITY: (-4003, "Quantity less than or equal to zero."),
    RejectReason.MIN_QTY: (-4004, "Quantity less than or equal to the minimum quantity."),
    RejectReason.REDUCE_ONLY: (-2022, "ReduceOnly Order is rejected."),
    RejectReason.INSUFFICIENT_MARGIN: (-2019, "Margin is insufficient."),
    RejectReason.UNKNOWN_SYMBOL: (-1121, "Invalid symbol."),
}


def futures_rejection(rejection: Rejection, min_notional: str = "5") -> BinanceError:
    """Map a sim rejection of a USDⓈ-M order to the code Binance futures sends."""
    if rejection.reason is RejectReason.MIN_NOTIONAL:
        return BinanceError(
            -4164,
            f"Order's notional must be no smaller than {min_notional} (unless you choose "
            "reduce only).",
        )
    code, msg = _FUTURES_CODES.get(
        rejection.reason,
        (-1000, f"An unknown error occurred while processing the request. {rejection.detail}"),
    )
    return BinanceError(code, msg)


def spot_rejection(rejection: Rejection) -> BinanceError:
    reason = rejection.reason
    if reason in (RejectReason.LOT_SIZE_STEP, RejectReason.MIN_QTY):
        return BinanceError(-1013, "Filter failure: LOT_SIZE")
    if reason is RejectReason.MIN_NOTIONAL:
        return BinanceError(-1013, "Filter failure: NOTIONAL")
    if reason is RejectReason.INVALID_QUANTITY:
        return BinanceError(-1013, "Invalid quantity.")
    if reason is RejectReason.INSUFFICIENT_BALANCE:
        return BinanceError(-2010, "Account has insufficient balance for requested action.")
    if reason is RejectReason.UNKNOWN_SYMBOL:
        return invalid_symbol()
    return BinanceError(
        -1000, f"An unknown error occurred while processing the request. {rejection.detail}"
    )

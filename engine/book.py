"""Whether an instrument's book is two-sided: a one-sided book is locked, not absorbing.

A stock locked at its upper circuit shows bids and no offers (nobody will sell at the limit);
at its lower circuit, offers and no bids. Trades there say nothing about hidden size: the
queue on the quoted side is simply waiting for the limit to move. Such an instrument is shown
as locked and never scored. Arrays are per instrument.
"""

from __future__ import annotations

import numpy as np

BOOK_UNSEEN, BOOK_TWO_SIDED, BOOK_BID_ONLY, BOOK_ASK_ONLY, BOOK_EMPTY = range(5)
BOOK_STATE_NAMES = np.array(
    [
        "",
        "two-sided",
        "bid only: locked at upper circuit",
        "ask only: locked at lower circuit",
        "no quote",
    ]
)


def book_state(best_bid: np.ndarray, best_ask: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Book state code per instrument from the latest best bid and ask (NaN = not quoted).

    ``seen`` marks instruments that have had a full-mode tick; the others are BOOK_UNSEEN.
    """
    has_bid, has_ask = np.asarray(best_bid) > 0, np.asarray(best_ask) > 0
    state = np.select(
        [has_bid & has_ask, has_bid, has_ask],
        [BOOK_TWO_SIDED, BOOK_BID_ONLY, BOOK_ASK_ONLY],
        default=BOOK_EMPTY,
    )
    return np.where(seen, state, BOOK_UNSEEN).astype(np.int8)

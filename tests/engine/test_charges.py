"""Charges of an intraday equity round trip, on worked examples computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from engine.charges import ZERODHA_INTRADAY_EQUITY, net_pnl, round_trip_charges


def test_a_large_order_pays_the_flat_brokerage_and_the_listed_taxes():
    # 100 shares bought at 1,000 and sold at 1,010 on NSE: buy value 1,00,000, sell 1,01,000.
    # brokerage 20 + 20; transaction 2,01,000 x 0.00297 % = 5.9697; SEBI 0.201;
    # STT 1,01,000 x 0.025 % = 25.25; stamp 1,00,000 x 0.003 % = 3; GST 18 % of 46.1707.
    expected = 40 + 5.9697 + 0.201 + 25.25 + 3.0 + 0.18 * (40 + 5.9697 + 0.201)
    assert round_trip_charges(1000.0, 1010.0, 100) == pytest.approx(expected, abs=1e-9)
    assert expected == pytest.approx(82.73, abs=0.005)


def test_a_small_order_pays_the_percentage_brokerage_when_it_is_lower():
    # 10 shares, 500 -> 495: 0.03 % of 5,000 is 1.50 and of 4,950 is 1.485, under Rs 20.
    brokerage = 1.5 + 1.485
    transaction, sebi = 9_950 * 0.0000297, 9_950 * 0.000001
    expected = brokerage + transaction + sebi + 4_950 * 0.00025 + 5_000 * 0.00003
    expected += 0.18 * (brokerage + transaction + sebi)
    assert round_trip_charges(500.0, 495.0, 10) == pytest.approx(expected, abs=1e-9)


def test_bse_has_its_own_transaction_rate_and_an_unknown_exchange_is_refused():
    nse = round_trip_charges(1000.0, 1010.0, 100, exchange="NSE")
    bse = round_trip_charges(1000.0, 1010.0, 100, exchange="BSE")
    assert bse - nse == pytest.approx(201_000 * (0.00375 - 0.00297) / 100 * 1.18)
    with pytest.raises(ValueError, match="MCX"):
        round_trip_charges(1000.0, 1010.0, 100, exchange="MCX")
    assert ZERODHA_INTRADAY_EQUITY.effective == "2024-10-01"


def test_net_pnl_takes_slippage_on_both_fills_and_the_charges_of_the_filled_prices():
    result = net_pnl(1, 1000.0, 1010.0, 995.0, 100, tick_size=0.05, slippage_ticks=1)
    charges = round_trip_charges(1000.05, 1009.95, 100)
    assert float(result.gross_pnl) == pytest.approx(1_000.0)
    assert float(result.slippage) == pytest.approx(10.0)
    assert float(result.net_pnl) == pytest.approx(1_000.0 - 10.0 - charges)
    assert float(result.net_r) == pytest.approx((990.0 - charges) / 500.0)
    assert float(result.net_pnl_pct) == pytest.approx((990.0 - charges) / 100_000 * 100)


def test_a_short_sells_first_and_a_plan_inside_the_costs_loses_net():
    # A short from 200 to 199.90 (two ticks) on 50 shares: gross +5 rupees; the costs
    # (two ticks of slippage a share and about Rs 10 of charges) turn it into a loss.
    result = net_pnl(
        np.array([-1, 1]),
        np.array([200.0, 200.0]),
        np.array([199.9, 200.1]),
        np.array([200.05, 199.95]),
        50,
        tick_size=0.05,
    )
    assert result.gross_pnl.tolist() == pytest.approx([5.0, 5.0])
    assert np.all(result.net_pnl < 0)
    # Buy value of the short is the covering buy (199.95), its sell the entry (199.95).
    short_charges = round_trip_charges(199.95, 199.95, 50)
    assert result.charges[0] == pytest.approx(short_charges)


def test_quantity_must_be_positive():
    with pytest.raises(ValueError, match="quantity"):
        net_pnl(1, 100.0, 101.0, 99.0, 0, tick_size=0.05)

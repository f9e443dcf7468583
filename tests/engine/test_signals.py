"""Signal rules and the confidence score."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from engine.institutional import ABSORBED_ASK, ABSORBED_BID
from engine.signals import MAX_POINTS, generate_signal

NAN = float("nan")


def classify(settings, **overrides):
    metrics = dict(
        institutional_ratio=6.0,
        absorbed_side=ABSORBED_BID,
        order_imbalance=-0.5,
        volume_surge=3.0,
        price_move_atr=0.1,
        pcr_bias=NAN,
    )
    metrics.update(overrides)
    return generate_signal(settings=settings, **metrics)


def test_iceberg_bid_under_visible_selling_with_a_stable_price_is_accumulation(settings):
    assert classify(settings).signal_type.tolist() == ["ACCUMULATION"]


def test_iceberg_ask_under_visible_buying_with_a_capped_price_is_distribution(settings):
    result = classify(settings, absorbed_side=ABSORBED_ASK, order_imbalance=0.5)
    assert result.signal_type.tolist() == ["DISTRIBUTION"]


def test_accumulation_needs_the_ratio_above_the_threshold(settings):
    assert classify(settings, institutional_ratio=2.4).signal_type.tolist() == [""]


def test_accumulation_needs_a_stable_price(settings):
    assert classify(settings, price_move_atr=-1.2).signal_type.tolist() == [""]


def test_strong_buying_with_a_surge_and_a_rising_price_is_buy(settings):
    result = classify(settings, institutional_ratio=1.0, order_imbalance=0.6, price_move_atr=2.0)
    assert result.signal_type.tolist() == ["BUY"]


def test_sell_mirrors_buy(settings):
    result = classify(settings, institutional_ratio=1.0, order_imbalance=-0.6, price_move_atr=-2.0)
    assert result.signal_type.tolist() == ["SELL"]


def test_a_bearish_pcr_vetoes_a_buy_and_a_bullish_one_confirms_it(settings):
    common = dict(institutional_ratio=1.0, order_imbalance=0.6, price_move_atr=2.0)
    assert classify(settings, pcr_bias=-1.0, **common).signal_type.tolist() == [""]
    confirmed = classify(settings, pcr_bias=1.0, **common)
    neutral = classify(settings, pcr_bias=0.0, **common)
    unknown = classify(settings, **common)
    assert confirmed.points["pcr"][0] == 4
    assert neutral.points["pcr"][0] == 2
    assert unknown.points["pcr"][0] == 1
    assert confirmed.confidence[0] > neutral.confidence[0] > unknown.confidence[0]


def test_points_explain_the_score_exactly(settings):
    result = classify(settings, pcr_bias=1.0)
    points = {name: int(value[0]) for name, value in result.points.items()}
    # base 3, PCR bullish confirms a long 4, imbalance 0.5 >= 0.4 3, ratio 6 >= 5 3, surge 3 >= 2 1
    assert points == {"base": 3, "pcr": 4, "imbalance": 3, "institutional": 3, "volume_surge": 1}
    assert result.confidence[0] == round(10 * 14 / MAX_POINTS, 1)


def test_not_ready_instruments_get_no_signal(settings):
    assert classify(settings, **{}).signal_code[0] != 0
    result = generate_signal(6.0, ABSORBED_BID, -0.5, 3.0, 0.1, NAN, settings, ready=False)
    assert result.signal_code[0] == 0 and result.confidence[0] == 0


def test_instruments_are_classified_independently_in_one_call(settings):
    result = generate_signal(
        institutional_ratio=np.array([6.0, 6.0, 1.0, NAN]),
        absorbed_side=np.array([ABSORBED_BID, ABSORBED_ASK, 0, 0]),
        order_imbalance=np.array([-0.5, 0.5, 0.6, 0.0]),
        volume_surge=np.array([3.0, 3.0, 3.0, NAN]),
        price_move_atr=np.array([0.0, 0.0, 2.0, NAN]),
        pcr_bias=np.array([NAN, NAN, NAN, NAN]),
        settings=settings,
    )
    assert result.signal_type.tolist() == ["ACCUMULATION", "DISTRIBUTION", "BUY", ""]


finite_or_nan = st.one_of(st.just(NAN), st.floats(-1e9, 1e9))


@given(
    ratio=finite_or_nan,
    side=st.sampled_from([-1, 0, 1]),
    imbalance=st.floats(-1, 1),
    surge=finite_or_nan,
    move=finite_or_nan,
    bias=st.sampled_from([NAN, -1.0, 0.0, 1.0]),
)
def test_confidence_is_always_within_zero_and_ten(ratio, side, imbalance, surge, move, bias):
    from config import Settings

    result = generate_signal(ratio, side, imbalance, surge, move, bias, Settings(_env_file=None))
    assert 0.0 <= result.confidence[0] <= 10.0
    assert sum(int(v[0]) for v in result.points.values()) <= MAX_POINTS


def test_a_buy_scores_only_absorption_in_its_favour(settings):
    buy = dict(
        institutional_ratio=10.0,
        absorbed_side=-1,
        order_imbalance=0.6,
        volume_surge=5.0,
        price_move_atr=3.0,
        pcr_bias=np.nan,
        settings=settings,
    )
    against = generate_signal(**buy, bid_ratio=0.2, ask_ratio=10.0)  # a hidden seller
    assert against.signal_type.tolist() == ["BUY"]
    assert int(against.points["institutional"][0]) == 0
    helping = generate_signal(**buy, bid_ratio=10.0, ask_ratio=0.2)  # a hidden buyer
    assert int(helping.points["institutional"][0]) == 3
    # Without the two sides, only a ratio on the favourable side scores.
    assert int(generate_signal(**buy).points["institutional"][0]) == 0
    assert int(generate_signal(**{**buy, "absorbed_side": 1}).points["institutional"][0]) == 3

"""Signal rules and the confidence score."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from engine.iceberg_evidence import MAX_POINTS as ICEBERG_EVIDENCE_POINTS
from engine.signals import ICEBERG_MAX_POINTS, MAX_POINTS, SURGE_PENALTY, generate_signal

NAN = float("nan")
BUYER = [[True, False]]  # a hidden buyer at the bid, no hidden seller
SELLER = [[False, True]]


def classify(settings, **overrides):
    metrics = dict(
        order_imbalance=-0.5,
        volume_surge=3.0,
        price_move_atr=0.1,
        pcr_bias=NAN,
        hidden=BUYER,
        evidence=[[3, 0]],
        tape_imbalance=-0.5,
    )
    metrics.update(overrides)
    return generate_signal(settings=settings, **metrics)


def test_a_hidden_buyer_under_selling_in_the_trade_flow_is_accumulation(settings):
    assert classify(settings).signal_type.tolist() == ["ACCUMULATION"]


def test_a_hidden_seller_under_buying_in_the_trade_flow_is_distribution(settings):
    result = classify(settings, hidden=SELLER, evidence=[[0, 3]], tape_imbalance=0.5)
    assert result.signal_type.tolist() == ["DISTRIBUTION"]


def test_accumulation_needs_the_hidden_buyer(settings):
    assert classify(settings, hidden=[[False, False]]).signal_type.tolist() == [""]
    # Hidden orders on both sides: a two-sided market maker, not accumulation.
    assert classify(settings, hidden=[[True, True]]).signal_type.tolist() == [""]


def test_accumulation_reads_the_selling_from_the_tape_not_the_book(settings):
    # The book leans to selling but the trades do not: no accumulation.
    assert classify(settings, tape_imbalance=0.0).signal_type.tolist() == [""]
    # The trades sell into the bid while the (mostly far) book leans to buying: accumulation.
    leaning = classify(settings, order_imbalance=0.3)
    assert leaning.signal_type.tolist() == ["ACCUMULATION"]


def test_the_trade_flow_need_only_lean_the_icebergs_way(settings):
    # Mild selling (below IMBALANCE_THRESHOLD) into a hidden buyer is accumulation, and
    # one-sided selling is no surer of it: the hidden buyer supplies whoever sells.
    mild = classify(settings, tape_imbalance=-settings.imbalance_threshold / 2)
    assert mild.signal_type.tolist() == ["ACCUMULATION"]
    strong = classify(settings, tape_imbalance=-settings.strong_imbalance)
    assert mild.points["imbalance"].tolist() == strong.points["imbalance"].tolist() == [0]
    assert strong.confidence[0] == mild.confidence[0]
    # Buying into a hidden buyer is not accumulation, however slight.
    assert classify(settings, tape_imbalance=0.01).signal_type.tolist() == [""]


def test_a_volume_surge_counts_against_an_accumulation_and_for_a_buy(settings):
    calm = classify(settings, volume_surge=1.0)
    surging = classify(settings, volume_surge=settings.volume_surge_threshold)
    assert calm.signal_type.tolist() == surging.signal_type.tolist() == ["ACCUMULATION"]
    assert calm.points["volume_surge"].tolist() == [0]
    assert surging.points["volume_surge"].tolist() == [-SURGE_PENALTY]
    assert surging.confidence[0] < calm.confidence[0]
    buy = dict(hidden=[[False, False]], order_imbalance=0.6, price_move_atr=2.0)
    big = classify(settings, volume_surge=2 * settings.volume_surge_threshold, **buy)
    assert big.signal_type.tolist() == ["BUY"] and big.points["volume_surge"].tolist() == [2]


def test_strong_buying_with_a_surge_and_a_rising_price_is_buy(settings):
    result = classify(settings, hidden=[[False, False]], order_imbalance=0.6, price_move_atr=2.0)
    assert result.signal_type.tolist() == ["BUY"]


def test_sell_mirrors_buy(settings):
    result = classify(settings, hidden=[[False, False]], order_imbalance=-0.6, price_move_atr=-2.0)
    assert result.signal_type.tolist() == ["SELL"]


def test_a_bearish_pcr_vetoes_a_buy_and_a_bullish_one_confirms_it(settings):
    common = dict(hidden=[[False, False]], order_imbalance=0.6, price_move_atr=2.0)
    assert classify(settings, pcr_bias=-1.0, **common).signal_type.tolist() == [""]
    confirmed = classify(settings, pcr_bias=1.0, **common)
    neutral = classify(settings, pcr_bias=0.0, **common)
    unknown = classify(settings, **common)
    assert confirmed.points["pcr"][0] == 4 and confirmed.possible[0] == MAX_POINTS
    # Neutral and unknown say nothing: left out of the total, they score alike.
    assert neutral.points["pcr"][0] == unknown.points["pcr"][0] == 0
    assert neutral.possible[0] == unknown.possible[0] == MAX_POINTS - 4
    assert confirmed.confidence[0] > neutral.confidence[0] == unknown.confidence[0]


def test_a_contradicting_pcr_counts_against_an_accumulation(settings):
    against = classify(settings, pcr_bias=-1.0)
    assert against.signal_type.tolist() == ["ACCUMULATION"]  # PCR vetoes momentum only
    assert against.points["pcr"][0] == 0 and against.possible[0] == ICEBERG_MAX_POINTS
    assert against.confidence[0] < classify(settings).confidence[0]


def test_points_explain_the_score_exactly(settings):
    result = classify(settings, pcr_bias=1.0)
    points = {name: int(value[0]) for name, value in result.points.items()}
    # base 3, PCR bullish confirms a long 4, the tape's imbalance not scored, iceberg
    # evidence 3, a surge (3 >= 2) against it -2
    assert points == {"base": 3, "pcr": 4, "imbalance": 0, "institutional": 3, "volume_surge": -2}
    assert ICEBERG_MAX_POINTS == 3 + 4 + 5
    assert result.confidence[0] == round(10 * 8 / ICEBERG_MAX_POINTS, 1)
    # Without a PCR view the same evidence is scored out of what could be known.
    alone = classify(settings)
    assert alone.confidence[0] == round(10 * 4 / (ICEBERG_MAX_POINTS - 4), 1)
    # A BUY is scored on every factor: base 2, book imbalance 0.6 >= 0.4 3, surge 3 >= 2 1,
    # no hidden order.
    buy = classify(
        settings,
        hidden=[[False, False]],
        evidence=[[0, 0]],
        order_imbalance=0.6,
        price_move_atr=2.0,
    )
    assert buy.confidence[0] == round(10 * (2 + 3 + 1) / (MAX_POINTS - 4), 1)


def test_without_options_an_accumulation_can_reach_the_top(settings):
    best = classify(
        settings, evidence=[[ICEBERG_EVIDENCE_POINTS, 0]], volume_surge=1.0, tape_imbalance=-0.9
    )
    assert best.confidence[0] == 10.0
    # Passing the default 7 takes three of the five evidence points (6 of 8 = 7.5; 5 = 6.2).
    assert classify(settings, evidence=[[3, 0]], volume_surge=1.0).confidence[0] == 7.5
    assert classify(settings, evidence=[[2, 0]], volume_surge=1.0).confidence[0] == 6.2


def test_not_ready_instruments_get_no_signal(settings):
    assert classify(settings).signal_code[0] != 0
    result = classify(settings, ready=False)
    assert result.signal_code[0] == 0 and result.confidence[0] == 0


def test_instruments_are_classified_independently_in_one_call(settings):
    result = generate_signal(
        order_imbalance=np.array([-0.5, 0.5, 0.6, 0.0]),
        volume_surge=np.array([3.0, 3.0, 3.0, NAN]),
        price_move_atr=np.array([0.0, 0.0, 2.0, NAN]),
        pcr_bias=np.array([NAN, NAN, NAN, NAN]),
        settings=settings,
        hidden=np.array([[True, False], [False, True], [False, False], [False, False]]),
        evidence=np.array([[2, 0], [0, 2], [0, 0], [0, 0]]),
        tape_imbalance=np.array([-0.5, 0.5, 0.6, 0.0]),
    )
    assert result.signal_type.tolist() == ["ACCUMULATION", "DISTRIBUTION", "BUY", ""]


finite_or_nan = st.one_of(st.just(NAN), st.floats(-1e9, 1e9))


@given(
    imbalance=st.floats(-1, 1),
    tape=st.one_of(st.just(NAN), st.floats(-1, 1)),
    surge=finite_or_nan,
    move=finite_or_nan,
    bias=st.sampled_from([NAN, -1.0, 0.0, 1.0]),
    hidden=st.tuples(st.booleans(), st.booleans()),
    evidence=st.tuples(st.integers(0, 4), st.integers(0, 4)),
)
def test_confidence_is_always_within_zero_and_ten(
    imbalance, tape, surge, move, bias, hidden, evidence
):
    from config import Settings

    result = generate_signal(
        imbalance,
        surge,
        move,
        bias,
        Settings(_env_file=None),
        hidden=[hidden],
        evidence=[evidence],
        tape_imbalance=tape,
    )
    assert 0.0 <= result.confidence[0] <= 10.0
    assert sum(int(v[0]) for v in result.points.values()) <= result.possible[0] <= MAX_POINTS


def test_a_buy_scores_only_hidden_orders_in_its_favour(settings):
    buy = dict(
        order_imbalance=0.6,
        volume_surge=5.0,
        price_move_atr=3.0,
        pcr_bias=np.nan,
        settings=settings,
        tape_imbalance=0.6,
    )
    # A hidden seller soaking up the buying: evidence against the BUY, it scores nothing
    # (and with a hidden seller and buying in the tape, the rule calls it DISTRIBUTION).
    against = generate_signal(**{**buy, "tape_imbalance": 0.0}, hidden=SELLER, evidence=[[0, 4]])
    assert against.signal_type.tolist() == ["BUY"]
    assert int(against.points["institutional"][0]) == 0
    helping = generate_signal(**buy, hidden=BUYER, evidence=[[4, 0]])
    assert helping.signal_type.tolist() == ["BUY"]
    assert int(helping.points["institutional"][0]) == 4

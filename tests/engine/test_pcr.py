"""Put-Call Ratio from an options chain."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from engine.pcr import PcrBias, calculate_real_pcr


def chain(rows):
    return pd.DataFrame(rows, columns=["strike", "type", "oi", "volume"])


def test_oi_and_volume_pcr_of_a_chain():
    result = calculate_real_pcr(
        chain(
            [
                (100, "PE", 1_500, 300),
                (100, "CE", 1_000, 600),
                (110, "PE", 1_500, 0),
                (110, "CE", 1_000, 0),
            ]
        )
    )
    assert result.pcr == 1.5 and result.volume_pcr == 0.5
    assert result.bias is PcrBias.BULLISH
    assert (result.put_oi, result.call_oi) == (3_000, 2_000)


def test_bias_thresholds_are_configurable():
    rows = chain([(100, "PE", 900, 1), (100, "CE", 1_000, 1)])
    assert calculate_real_pcr(rows).bias is PcrBias.NEUTRAL
    assert calculate_real_pcr(rows, bullish_above=0.85, bearish_below=0.5).bias is PcrBias.BULLISH
    assert calculate_real_pcr(rows, bullish_above=1.5, bearish_below=0.95).bias is PcrBias.BEARISH


def test_empty_chain_is_a_clear_neutral_result():
    result = calculate_real_pcr(chain([]))
    assert math.isnan(result.pcr) and result.bias is PcrBias.NEUTRAL
    assert result.reason == "empty options chain" and not result.available


def test_one_sided_chain_says_which_side_is_missing():
    result = calculate_real_pcr(chain([(100, "PE", 500, 10)]))
    assert math.isnan(result.pcr) and "no call open interest" in result.reason
    result = calculate_real_pcr(chain([(100, "CE", 500, 10)]))
    assert math.isnan(result.pcr) and "no put open interest" in result.reason


def test_kite_dump_column_names_are_accepted():
    frame = pd.DataFrame({"strike": [1, 1], "instrument_type": ["PE", "CE"], "oi": [2, 4]})
    result = calculate_real_pcr(frame)
    assert result.pcr == 0.5 and math.isnan(result.volume_pcr)
    assert result.bias is PcrBias.BEARISH


def test_missing_columns_and_bad_values_are_named():
    with pytest.raises(ValueError, match=r"lacks column.*oi"):
        calculate_real_pcr(pd.DataFrame({"strike": [1], "type": ["CE"]}))
    with pytest.raises(ValueError, match=r"unknown option type.*FUT"):
        calculate_real_pcr(chain([(1, "FUT", 1, 1)]))
    with pytest.raises(ValueError, match="negative"):
        calculate_real_pcr(chain([(1, "CE", -1, 1)]))

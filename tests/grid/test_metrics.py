"""Metrics checked against hand calculations on the 3-bus system."""

from __future__ import annotations

import numpy as np
import pytest

from grid.dispatch import dispatch_day
from grid.metrics import compare_dispatch, dispatch_metrics, metrics_table

# demand 50/80/120 MW at bus 2, wind available 70/30/60 MW; coal must-run 40..100 MW at 20 $/MWh and
# 1000 kg/MWh; gas 0..100 MW at 50 $/MWh and 400 kg/MWh.
#   t0: coal 40 (minimum), wind 10 of 70      t1: coal 50, wind 30 of 30      t2: coal 60, wind 60 of 60
DEMAND = np.array([50.0, 80.0, 120.0])
WIND = np.array([[70.0], [30.0], [60.0]])


@pytest.fixture(scope="module")
def hand(tiny):
    return dispatch_day(tiny, {2: DEMAND}, renewable_avail_mw=WIND)


def test_dispatch_by_hand(hand):
    np.testing.assert_allclose(hand.thermal_p_mw, [[40.0, 0.0], [50.0, 0.0], [60.0, 0.0]], atol=1e-6)
    np.testing.assert_allclose(hand.renewable_p_mw[:, 0], [10.0, 30.0, 60.0], atol=1e-6)


def test_eta_gi_by_hand(hand):
    np.testing.assert_allclose(hand.eta_gi, [10 / 50, 30 / 80, 60 / 120], atol=1e-9)


def test_metrics_by_hand(hand):
    m = dispatch_metrics(hand)
    assert m.renewable_available_mwh == pytest.approx(160.0)
    assert m.renewable_used_mwh == pytest.approx(100.0, abs=1e-6)
    assert m.renewable_utilisation == pytest.approx(100.0 / 160.0, abs=1e-9)
    assert m.curtailment_rate == pytest.approx(60.0 / 160.0, abs=1e-9)
    assert m.co2_t == pytest.approx(150.0, abs=1e-6)  # (40 + 50 + 60) MWh x 1 t/MWh
    assert m.cost == pytest.approx(3000.0, abs=1e-4)  # 150 MWh x 20 $/MWh
    assert m.eta_gi == pytest.approx(100.0 / 250.0, abs=1e-9)
    assert m.demand_mwh == pytest.approx(250.0)
    assert m.co2_intensity_kg_per_mwh == pytest.approx(600.0, abs=1e-6)
    assert m.demand_peak_to_valley_mw == pytest.approx(70.0)
    assert m.net_load_peak_to_valley_mw == pytest.approx(20.0, abs=1e-6)  # 40, 50, 60
    assert m.congestion_hours == 0.0 and m.shed_mwh == 0.0
    assert np.isnan(m.ac_violation_hours)


def test_controlled_demand_raises_utilisation_and_cuts_co2(tiny, hand):
    # the same 250 MWh, shifted into the windy first period: all wind used, less coal burnt
    shifted = dispatch_day(tiny, {2: np.array([110.0, 60.0, 80.0])}, renewable_avail_mw=WIND)
    cmp = compare_dispatch(hand, shifted)
    # t0: coal 40 + wind 70; t1: coal 40 + wind 20 (10 curtailed); t2: coal 40 + wind 40 (20 curtailed)
    # the coal minimum still binds, so 130 of 160 MWh of wind are used and coal burns 120 MWh
    assert cmp.controlled.renewable_utilisation == pytest.approx(130.0 / 160.0, abs=1e-9)
    assert cmp.delta["co2_t"] == pytest.approx(120.0 - 150.0, abs=1e-6)
    assert cmp.delta["renewable_utilisation"] > 0
    frame = cmp.to_frame()
    assert frame.loc["co2_t", "baseline"] == pytest.approx(150.0, abs=1e-6)
    assert frame.loc["co2_t", "relative"] == pytest.approx(-0.2, abs=1e-9)


def test_metrics_table(hand):
    table = metrics_table({"a": hand, "b": hand})
    assert list(table.index) == ["a", "b"] and "renewable_utilisation" in table.columns

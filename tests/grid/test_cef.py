"""Carbon emission flow: a hand-calculated 3-bus case and conservation on the IEEE cases."""

from __future__ import annotations

import numpy as np
import pytest

from grid.cef import carbon_emission_flow, dispatch_carbon_flow, nodal_zero_carbon_index
from grid.dispatch import dispatch_day

DAY = 196


def test_three_bus_hand_calculation():
    """Coal 100 MW (1000 kg/MWh) at bus 0, gas 50 MW (400) at bus 1, wind 40 MW at bus 2.

    Loads 20 / 30 / 140 MW; flows 0->1 10 MW, 0->2 70 MW, 1->2 30 MW (balanced at every bus).
    e0 = 1000; e1 = (50*400 + 10*1000) / (50 + 10) = 500;
    e2 = (70*1000 + 30*500) / (40 + 70 + 30) = 85000 / 140; wind share at bus 2 = 40 / 140.
    """
    gen = np.array([[100.0, 50.0, 40.0]])
    emis = np.array([[100_000.0, 20_000.0, 0.0]])
    ren = np.array([[0.0, 0.0, 40.0]])
    cons = np.array([[20.0, 30.0, 140.0]])
    # branch order 0-1, 1-2, 0-2; the second is given reversed (2->1 of -30 MW) to test directions
    flows = np.array([[10.0, -30.0, 70.0]])
    cf = carbon_emission_flow(gen, emis, ren, cons, flows, np.array([0, 2, 0]), np.array([1, 1, 2]))
    np.testing.assert_allclose(cf.ci_kg_per_mwh[0], [1000.0, 500.0, 85000.0 / 140.0], rtol=1e-12)
    np.testing.assert_allclose(cf.renewable_share[0], [0.0, 0.0, 40.0 / 140.0], atol=1e-12)
    np.testing.assert_allclose(cf.throughput_mw[0], [100.0, 60.0, 140.0])
    np.testing.assert_allclose(cf.branch_ci_kg_per_mwh[0], [1000.0, 500.0, 1000.0])
    assert cf.emission_kg_per_h.sum() == pytest.approx(120_000.0, rel=1e-12)
    assert cf.system_ci_kg_per_mwh[0] == pytest.approx(120_000.0 / 190.0)


def test_idle_bus_is_nan_and_negative_input_refused():
    cf = carbon_emission_flow(
        np.array([[10.0, 0.0, 0.0]]),
        np.array([[5000.0, 0.0, 0.0]]),
        np.zeros((1, 3)),
        np.array([[0.0, 10.0, 0.0]]),
        np.array([[10.0]]),
        np.array([0]),
        np.array([1]),
    )
    np.testing.assert_allclose(cf.ci_kg_per_mwh[0, :2], [500.0, 500.0])
    assert np.isnan(cf.ci_kg_per_mwh[0, 2]) and np.isnan(cf.renewable_share[0, 2])
    with pytest.raises(ValueError, match=">= 0"):
        carbon_emission_flow(
            -np.ones((1, 2)),
            np.zeros((1, 2)),
            np.zeros((1, 2)),
            np.zeros((1, 2)),
            np.zeros((1, 1)),
            np.array([0]),
            np.array([1]),
        )


def test_three_bus_dispatch(tiny):
    park = {2: np.array([50.0, 80.0, 120.0])}
    r = dispatch_day(tiny, park, renewable_avail_mw=np.array([[70.0], [30.0], [60.0]]))
    cf = dispatch_carbon_flow(tiny, r)
    # the wind farm and the load share bus 2; its share is the wind fraction of the power through it
    through = cf.throughput_mw[:, 2]
    np.testing.assert_allclose(cf.renewable_share[:, 2], r.renewable_p_mw[:, 0] / through, rtol=1e-10)
    np.testing.assert_allclose(cf.emission_kg_per_h.sum(axis=1), r.co2_kg / r.step_h, rtol=1e-10)


@pytest.mark.parametrize("name", ["case14", "case39"])
def test_conservation_on_ieee_cases(name, request):
    case = request.getfixturevalue(name)
    park = np.zeros((case.n_bus, 24))
    park[case.park_buses[0]] = np.linspace(-20.0, 40.0, 24)  # an exporting then importing park
    r = dispatch_day(case, park, day_of_year=DAY)
    cf = dispatch_carbon_flow(case, r)
    # sum over buses of consumption x intensity = generator emissions, every period
    np.testing.assert_allclose(cf.emission_kg_per_h.sum(axis=1), r.co2_kg / r.step_h, rtol=1e-6)
    # renewable energy is conserved the same way, and shares lie in [0, 1]
    used = r.renewable_p_mw.sum(axis=1) + np.clip(-r.demand_mw, 0, None).sum(axis=1)
    np.testing.assert_allclose(
        (cf.consumption_mw * np.nan_to_num(cf.renewable_share)).sum(axis=1), used, rtol=1e-6
    )
    share = cf.renewable_share[np.isfinite(cf.renewable_share)]
    assert share.min() >= -1e-9 and share.max() <= 1 + 1e-9
    # nodal shares differ across buses where congestion separates the renewable buses from the rest
    t = int(np.argmax(r.binding.sum(axis=1)))
    assert np.nanmax(cf.renewable_share[t]) - np.nanmin(cf.renewable_share[t]) > 0.1


def test_nodal_index_upstream_and_at_the_wind_bus(tiny):
    park = {2: np.array([50.0, 80.0, 120.0])}
    r = dispatch_day(tiny, park, renewable_avail_mw=np.array([[70.0], [30.0], [60.0]]))
    idx = nodal_zero_carbon_index(tiny, r, buses=[0, 1, 2])
    # wind at the load bus: the load bus sees its wind share; buses upstream see none
    np.testing.assert_allclose(idx[0], 0.0, atol=1e-12)
    assert np.all(idx[2] >= r.eta_gi - 1e-12)
    assert set(nodal_zero_carbon_index(tiny, r)) == {2}

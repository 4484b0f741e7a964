"""The uptake bound LP: zero-width envelope = plain dispatch; flexibility can only raise uptake."""

from __future__ import annotations

import numpy as np
import pytest

from grid.bound import BoundInfeasible, FlexEnvelope, uptake_bound
from grid.dispatch import dispatch_day
from grid.metrics import dispatch_metrics

DAY = 196


def _park(case, n_t=24):
    """Fixed park loads at the first two park buses (the wind buses)."""
    t = np.arange(n_t)
    return {case.park_buses[0]: 20.0 + 10.0 * np.sin(t / 4.0), case.park_buses[1]: np.full(n_t, 15.0)}


@pytest.mark.parametrize("name", ["case14", "case39"])
def test_zero_width_envelope_equals_plain_dispatch(name, request):
    case = request.getfixturevalue(name)
    park = _park(case)
    plain = dispatch_day(case, park, day_of_year=DAY)
    m = dispatch_metrics(plain)
    b = uptake_bound(case, FlexEnvelope.fixed(park), day_of_year=DAY, objective="cost")
    assert b.cost == pytest.approx(m.cost, rel=1e-7)
    assert b.renewable_utilisation == pytest.approx(m.renewable_utilisation, abs=1e-7)
    assert b.co2_t == pytest.approx(m.co2_t, rel=1e-6)
    np.testing.assert_allclose(b.flex_p_mw, np.column_stack(list(park.values())), atol=1e-9)
    # maximising uptake first cannot do worse on uptake; least CO2 cannot exceed the dispatch's
    up = uptake_bound(case, FlexEnvelope.fixed(park), day_of_year=DAY, objective="uptake")
    assert up.renewable_utilisation >= m.renewable_utilisation - 1e-9
    assert up.co2_min_t <= m.co2_t + 1e-6


@pytest.mark.parametrize("name", ["case14", "case39"])
def test_wide_envelope_raises_uptake(name, request):
    case = request.getfixturevalue(name)
    park = _park(case)
    plain = dispatch_metrics(dispatch_day(case, park, day_of_year=DAY))
    p = np.column_stack(list(park.values()))
    energy = p.sum(axis=0)
    # same daily energy, free to move within 0..3x the mean in every hour
    env = FlexEnvelope(tuple(park), np.zeros_like(p), np.tile(3.0 * energy / 24.0, (24, 1)), energy, energy)
    b = uptake_bound(case, env, day_of_year=DAY)
    assert b.renewable_utilisation > plain.renewable_utilisation + 1e-4
    assert b.cost < dispatch_metrics(dispatch_day(case, park, day_of_year=DAY)).cost
    # uptake first (thermal redispatch allowed to make room) reaches at least as much
    up = uptake_bound(case, env, day_of_year=DAY, objective="uptake")
    assert up.renewable_utilisation >= b.renewable_utilisation - 1e-9
    np.testing.assert_allclose(b.flex_p_mw.sum(axis=0), energy, rtol=1e-7)
    assert np.all(b.flex_p_mw >= -1e-7) and np.all(b.flex_p_mw <= 3.0 * energy / 24.0 + 1e-7)
    assert b.co2_min_t <= plain.co2_t + 1e-6


def test_cumulative_energy_deadline_binds(tiny):
    """3-bus: a 60 MWh EV need by the end of period 1 forces the load early despite cheap wind later."""
    avail = np.array([[0.0], [0.0], [100.0]])
    env = FlexEnvelope(
        (2,),
        np.full((3, 1), 45.0),
        np.full((3, 1), 120.0),
        cum_energy_min_mwh=np.array([[0.0], [150.0], [150.0]]),
        energy_max_mwh=np.array([250.0]),
    )
    b = uptake_bound(tiny, env, renewable_avail_mw=avail, objective="uptake")
    x = b.flex_p_mw[:, 0]
    assert x[:2].sum() == pytest.approx(150.0, abs=1e-6)
    # the 250 MWh band leaves 100 MW for the windy hour; coal must run 40 MW, so 60 MW of wind fit
    assert x[2] == pytest.approx(100.0, abs=1e-6)
    assert b.renewable_utilisation == pytest.approx(0.6, abs=1e-6)


def test_infeasible_envelope_raises(tiny):
    env = FlexEnvelope((2,), np.full((2, 1), 300.0), np.full((2, 1), 300.0))  # above 200 MW of capacity
    with pytest.raises(BoundInfeasible, match="envelope"):
        uptake_bound(tiny, env, renewable_avail_mw=np.zeros((2, 1)))
    with pytest.raises(ValueError, match="p_min_mw > p_max_mw"):
        uptake_bound(
            tiny,
            FlexEnvelope((2,), np.full((2, 1), 5.0), np.zeros((2, 1))),
            renewable_avail_mw=np.zeros((2, 1)),
        )

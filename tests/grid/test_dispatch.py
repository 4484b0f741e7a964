"""Multi-period DC dispatch: balance, limits, congestion, curtailment, infeasibility, AC coupling."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from grid.backend import PandapowerBackend
from grid.cases import build_case
from grid.dispatch import DispatchInfeasible, dispatch_day

DAY = 196  # Miami, windy mid-July day: both default cases curtail wind behind a congested corridor


@pytest.fixture(scope="module")
def day14(case14):
    return dispatch_day(case14, day_of_year=DAY)


@pytest.fixture(scope="module")
def day39(case39):
    return dispatch_day(case39, day_of_year=DAY, ac_check=True)


@pytest.mark.parametrize("which", ["day14", "day39"])
def test_balance_bounds_and_line_limits(which, request):
    r = request.getfixturevalue(which)
    case = request.getfixturevalue("case14" if which == "day14" else "case39")
    assert r.thermal_p_mw.shape == (24, len(case.thermal))
    assert r.flows_mw.shape == (24, len(r.branch_names))
    np.testing.assert_allclose(r.total_generation_mw, r.demand_mw.sum(axis=1), atol=1e-5)
    assert np.all(np.abs(r.flows_mw) <= r.rating_mw + 1e-5)
    assert np.all(r.renewable_p_mw <= r.renewable_avail_mw + 1e-9)
    assert np.all(r.shed_mw == 0) and np.all(r.spill_mw == 0)
    for g, unit in enumerate(case.thermal):
        assert np.all(r.thermal_p_mw[:, g] <= unit.p_max_mw + 1e-6)
        if unit.must_run:
            assert np.all(r.thermal_p_mw[:, g] >= unit.p_min_mw - 1e-6)
        assert np.all(np.abs(np.diff(r.thermal_p_mw[:, g])) <= unit.ramp_mw_per_h + 1e-6)
        if unit.energy_mwh_per_day is not None:
            assert r.thermal_p_mw[:, g].sum() <= unit.energy_mwh_per_day + 1e-6


def test_flows_are_ptdf_flows_of_the_dispatch(day39, case39):
    inj = -r_demand(day39)
    pos = case39.bus_position([u.bus for u in case39.thermal])
    np.add.at(inj.T, pos, day39.thermal_p_mw.T)
    np.add.at(inj.T, case39.bus_position([u.bus for u in case39.renewables]), day39.renewable_p_mw.T)
    ref = PandapowerBackend(case39.net).dc_flows_mw(inj[[3, 12]])
    np.testing.assert_allclose(day39.flows_mw[[3, 12]], ref, atol=1e-6)


def r_demand(r):
    return r.demand_mw.copy()


@pytest.mark.parametrize("which", ["day14", "day39"])
def test_binding_line_causes_curtailment(which, request):
    """Some hour has a line at its limit and curtailed wind; without the line limits that wind is used."""
    r = request.getfixturevalue(which)
    case = request.getfixturevalue("case14" if which == "day14" else "case39")
    curtailed = r.curtailment_mw.sum(axis=1) > 1e-3
    congested = r.binding.any(axis=1)
    assert curtailed.sum() >= 3 and (curtailed & congested).any()
    t = int(np.argmax(r.curtailment_mw.sum(axis=1)))
    lines = np.flatnonzero(r.binding[t])
    assert len(lines) > 0
    np.testing.assert_allclose(np.abs(r.flows_mw[t, lines]), r.rating_mw[lines], rtol=1e-6)
    # relax all line ratings tenfold: curtailment falls, so congestion caused (at least part of) it;
    # what remains is surplus over demand that no network can absorb
    loose = dataclasses.replace(case, net=copy.deepcopy(case.net), _cache={})
    loose.net.line["max_i_ka"] *= 10.0
    loose.net.trafo["df"] *= 10.0
    relaxed = dispatch_day(loose, day_of_year=DAY)
    assert not relaxed.binding.any()
    assert relaxed.curtailment_mw[t].sum() < r.curtailment_mw[t].sum() - 1.0
    must_run = sum(u.p_min_mw for u in case.thermal if u.must_run)
    surplus = np.clip(
        relaxed.renewable_avail_mw.sum(axis=1) + must_run - relaxed.demand_mw.sum(axis=1), 0, None
    )
    np.testing.assert_allclose(relaxed.curtailment_mw.sum(axis=1), surplus, atol=1e-5)
    assert relaxed.cost.sum() < r.cost.sum()


def test_curtailment_from_must_run_surplus(tiny):
    """3-bus: demand below the must-run minimum plus wind forces curtailment with no congestion."""
    park = {2: np.array([50.0, 80.0, 120.0])}
    r = dispatch_day(tiny, park, renewable_avail_mw=np.array([[70.0], [30.0], [60.0]]))
    np.testing.assert_allclose(r.renewable_p_mw[:, 0], [10.0, 30.0, 60.0], atol=1e-6)
    np.testing.assert_allclose(r.curtailment_mw[:, 0], [60.0, 0.0, 0.0], atol=1e-6)
    assert not r.binding.any()


def test_ramp_limit_binds(make_three_bus):
    case = make_three_bus(coal_ramp_mw_per_h=20.0)
    park = {2: np.array([45.0, 100.0, 100.0])}
    r = dispatch_day(case, park, renewable_avail_mw=np.zeros((3, 1)))
    coal, gas = r.thermal_p_mw[:, 0], r.thermal_p_mw[:, 1]
    np.testing.assert_allclose(coal, [45.0, 65.0, 85.0], atol=1e-6)  # cheap coal climbs 20 MW/h
    np.testing.assert_allclose(gas, [0.0, 35.0, 15.0], atol=1e-6)
    with pytest.raises(DispatchInfeasible):  # start far from the first period's need
        dispatch_day(case, park, renewable_avail_mw=np.zeros((3, 1)), p_initial_mw=np.array([100.0, 100.0]))


def test_infeasible_capacity_reports_hour_and_shortfall(tiny):
    park = {2: np.array([100.0, 260.0, 150.0])}  # 200 MW of thermal capacity, no wind
    with pytest.raises(DispatchInfeasible) as info:
        dispatch_day(tiny, park, renewable_avail_mw=np.zeros((3, 1)))
    err = info.value
    assert err.hour == 1
    assert err.shortfall_mw == pytest.approx(60.0, abs=1e-6)
    assert "period 1" in str(err) and "60.0 MW" in str(err)
    assert err.shed_mw.sum() == pytest.approx(60.0, abs=1e-6)


def test_infeasible_surplus_is_negative_shortfall(tiny):
    park = {2: np.array([30.0, 60.0])}  # below the coal unit's must-run minimum of 40 MW
    with pytest.raises(DispatchInfeasible) as info:
        dispatch_day(tiny, park, renewable_avail_mw=np.zeros((2, 1)))
    assert info.value.hour == 0 and info.value.shortfall_mw == pytest.approx(-10.0, abs=1e-6)


def test_infeasible_network_limit(make_three_bus):
    case = make_three_bus(line_rating_mva=40.0)
    park = {2: np.full(2, 90.0)}  # two 40 MVA lines into bus 2 cannot carry 90 MW
    with pytest.raises(DispatchInfeasible) as info:
        dispatch_day(case, park, renewable_avail_mw=np.zeros((2, 1)))
    assert info.value.shortfall_mw > 0 and "bus" in str(info.value)


def test_allow_shedding_reports_loudly(tiny):
    park = {2: np.array([100.0, 260.0, 150.0])}
    with pytest.warns(RuntimeWarning, match="slack"):
        r = dispatch_day(tiny, park, renewable_avail_mw=np.zeros((3, 1)), allow_shedding=True)
    assert r.shed_total_mw[1] == pytest.approx(60.0, abs=1e-6)
    assert any("SHEDDING" in n for n in r.notes)
    assert r.hourly().shed_mw.iloc[1] == pytest.approx(60.0, abs=1e-6)


def test_park_coupling_adds_to_bus_demand(case14):
    park = np.zeros((case14.n_bus, 24))
    park[13] = np.linspace(-5.0, 20.0, 24)  # may be negative: park exports PV
    base = dispatch_day(case14, day_of_year=DAY)
    with_park = dispatch_day(case14, park, day_of_year=DAY)
    np.testing.assert_allclose(with_park.demand_mw - base.demand_mw, park.T, atol=1e-12)
    np.testing.assert_allclose(with_park.park_mw[:, 13], park[13])
    with pytest.raises(ValueError, match="not park buses"):
        dispatch_day(case14, {6: np.ones(24)}, day_of_year=DAY)  # bus 6 has no park element


def test_repeated_solves_are_identical(case39):
    a = dispatch_day(case39, day_of_year=DAY)
    dispatch_day(case39, {28: np.full(24, 300.0)}, day_of_year=DAY)
    b = dispatch_day(case39, day_of_year=DAY)
    np.testing.assert_array_equal(a.thermal_p_mw, b.thermal_p_mw)
    np.testing.assert_array_equal(a.renewable_p_mw, b.renewable_p_mw)


def test_sub_hourly_steps(case14):
    r = dispatch_day(case14, step_h=0.25, day_of_year=DAY)
    assert r.n_periods == 96 and r.step_h == 0.25
    np.testing.assert_allclose(r.total_generation_mw, r.demand_mw.sum(axis=1), atol=1e-5)


def test_case39_merit_order_is_documented_and_distinct(case39):
    costs = {u.fuel: u.cost_per_mwh for u in case39.thermal}
    assert len(case39.thermal) == 10
    assert costs["nuclear"] < costs["coal"] < costs["gas_cc"] < costs["import"] < costs["oil_steam"]
    assert {u.fuel for u in case39.thermal if u.must_run} == {"nuclear", "coal"}


def test_case14_has_ratings_that_bind(case14):
    rating = case14.branch_rating_mva()
    assert rating.max() < 1000 and rating.min() == pytest.approx(53.0)


def test_ac_check_of_dispatch(day39):
    ac = day39.ac
    assert ac is not None and ac.converged.all()
    assert np.all(ac.losses_mw > 0)
    # the slack unit's AC output is its DC dispatch plus the losses (no other unit moves)
    slack = [k for k, name in enumerate(day39.unit_names) if name == "nuclear@30"][0]
    np.testing.assert_allclose(ac.slack_p_mw, day39.thermal_p_mw[:, slack] + ac.losses_mw, atol=1e-3)
    assert len(ac.summary()) == 24


def test_unknown_case_name():
    with pytest.raises(ValueError, match="unknown case"):
        build_case("case9")

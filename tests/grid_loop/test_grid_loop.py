"""Nodal zero-carbon index source, the closed loop's fixed point, the flexibility envelope and bound shares."""

from __future__ import annotations

import math

import numpy as np
import pytest

from grid.cef import nodal_zero_carbon_index
from grid.experiment import bound_share
from scenarios.build import system_signal
from scenarios.closed_loop import (
    bus_signals,
    envelope_excess,
    groups_for,
    run_closed_loop,
    run_controlled,
    run_uncontrolled,
)
from scenarios.gridcase import base_dispatch
from scenarios.uptake import _dispatch, sweep_rows


@pytest.fixture(scope="module")
def loop5600(fast14):
    sc, case, weather, controlled = fast14
    groups, _ = groups_for(sc, case, 5600)
    days = [run_uncontrolled(sc, g, weather) for g in groups]
    base = base_dispatch(sc)
    res = run_closed_loop(sc, case, groups, days, weather, controlled, lambda mw: _dispatch(sc, case, mw), base)
    return groups, days, res


def test_nodal_source_is_the_bus_share(fast14):
    sc, case, _, _ = fast14
    base = base_dispatch(sc)
    share = nodal_zero_carbon_index(case, base, [13])[13]
    sig = system_signal(sc)  # one model: the nodal index at the first placement bus (13)
    assert np.allclose(sig.eta_gi, share, atol=1e-12)
    # (e_res, e_tot) mapping: e_tot is the dispatch's total generation, eta = share exactly
    assert np.allclose(sig.e_tot_mwh, base.total_generation_mw * sc.step_h)
    sigs = bus_signals(sc, case, base, [13, 8])
    assert np.allclose(sigs[13].eta_gi, share) and sigs[8].eta_gi.shape == (24,)
    # congestion at the wind bus separates the nodal index from the system index in some hours
    assert np.abs(sigs[13].eta_gi - base.eta_gi).max() > 0.05
    sys_sc = sc.model_copy(update={"system_index": sc.system_index.model_copy(update={"source": "grid"})})
    assert np.allclose(bus_signals(sys_sc, case, base, [13])[13].eta_gi, base.eta_gi)


def test_closed_loop_converges_to_a_fixed_point(fast14, loop5600):
    sc, case, weather, controlled = fast14
    groups, days, res = loop5600
    tol = sc.grid.closed_loop.tolerance_mw
    assert res.converged and 2 <= res.iterations <= sc.grid.closed_loop.max_iterations
    assert len(res.residuals_mw) == res.iterations - 1 and res.residuals_mw[-1] < tol
    # the DERs' answer to the dispatch of the final loads is the final loads, within tolerance
    result = _dispatch(sc, case, dict(zip([g.bus for g in groups], res.final_mw, strict=True)))
    sigs = bus_signals(sc, case, result, [g.bus for g in groups])
    again = np.array([run_controlled(sc, g, weather, sigs[g.bus], controlled) for g in groups])
    again_mw = (again - np.array([d.net_kw for d in days])) / 1000.0
    assert np.abs(again_mw - res.final_mw).max() < tol


def test_envelope_holds_uncontrolled_and_response(loop5600, fast14):
    sc = fast14[0]
    _, days, res = loop5600
    assert envelope_excess(days, np.zeros_like(res.open_mw), sc.step_h) == 0.0
    assert envelope_excess(days, res.open_mw, sc.step_h) < 1e-6
    assert envelope_excess(days, res.final_mw, sc.step_h) < 1e-6
    for d in days:
        e = d.envelope
        assert (e.p_min_kw <= 0).all() and (e.p_max_kw >= 0).all() and e.energy_min_kwh <= 0 <= e.energy_max_kwh
        assert (e.cum_min_kwh <= 0).all() and (e.p_max_kw - e.p_min_kw).max() > 0


def test_bound_share_function():
    assert bound_share(0.5, 0.4, 0.6) == pytest.approx(0.5)
    assert math.isnan(bound_share(0.5, 0.4, 0.4))
    assert bound_share(0.4, 0.4, 0.6) == 0.0 and bound_share(0.6, 0.4, 0.6) == pytest.approx(1.0)


def test_sweep_rows_report_bound_and_share(fast14):
    sc, case, weather, controlled = fast14
    base = base_dispatch(sc)
    rows = sweep_rows(sc, 0, case, base, weather=weather, controlled=controlled)
    assert [r["mode"] for r in rows] == ["uncontrolled", "open_loop", "closed_loop"]
    assert len({r["co2_t"] for r in rows}) == 1
    rows = {r["mode"]: r for r in sweep_rows(sc, 560, case, base, weather=weather, controlled=controlled)}
    unc = rows["uncontrolled"]
    for mode in ("open_loop", "closed_loop"):
        r = rows[mode]
        assert r["iterations"] >= 1 and r["outside_envelope"] < 1e-6
        # the bound (least-cost dispatch with the change co-optimised) costs no more than the
        # uncontrolled day; the ceiling (any redispatch) uses at least as much renewable energy and
        # emits no more than the least CO2 it reports
        assert r["bound_cost"] <= unc["cost"] + 1e-6
        assert r["ceiling_renewable_utilisation"] >= unc["renewable_utilisation"] - 1e-9
        assert r["ceiling_co2_min_t"] <= min(unc["co2_t"], r["co2_t"]) + 1e-6
        # shares: NaN where the bound gains nothing, else the share of its gain (not clipped)
        for key in ("share_utilisation", "share_co2"):
            assert math.isnan(r[key]) or np.isfinite(r[key])
        if r["bound_renewable_utilisation"] > unc["renewable_utilisation"] + 1e-9:
            assert not math.isnan(r["share_utilisation"])

"""The oracle (perfect-foresight LP/MILP) and the rolling-horizon MPC."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from aggregation.multi_energy import MultiEnergySim, summarise
from learners.mpc import RollingMPC, noisy_forecast
from learners.oracle import oracle, solve_plan

from ._sites import day_site, toy_site


def test_oracle_schedule_balances_every_period():
    cfg, data = day_site()
    res = oracle(cfg, data)
    assert res.plan.status == "Optimal"
    t = res.table
    e = (t.gt_p_kw + t.bat_p_kw + t.wind_kw + t.pv_kw + t.buy_kw - t.sell_kw - t.load_e_kw - t.hp_p_kw)
    h = t.gt_q_kw + t.hp_q_kw + t.tes_q_kw - t.vented_h_kw - t.load_h_kw
    assert np.abs(e).max() < 1e-6 and np.abs(h).max() < 1e-6
    assert t.unserved_e_kw.max() < 1e-6 and t.unserved_h_kw.max() < 1e-6 and t.excess_e_kw.max() < 1e-6
    # the plan's own balance rows hold too (LP values)
    v = res.plan.values
    pe = v["gt_p_kw"] + v["bat_dis_kw"] - v["bat_ch_kw"] + v["wind_kw"] + v["pv_kw"] + v["buy_kw"] - v["sell_kw"]
    np.testing.assert_allclose(pe + v["unserved_e_kw"] - v["excess_e_kw"], data.load_e_kw + v["hp_p_kw"], atol=1e-6)
    # linearisation error (tangents + efficiency fixed point) is tiny
    assert abs(res.replay_gap) < 1e-3 * abs(res.summary["total_cost"])
    assert t.bat_e_kwh.iloc[-1] >= cfg.battery.soc_init * cfg.battery.capacity_kwh - 1e-6


@pytest.mark.parametrize("shutdown", [False, True])
def test_oracle_equals_brute_force_on_a_3_period_toy(shutdown):
    cfg, data = toy_site(shutdown)
    res = oracle(cfg, data)
    sim = MultiEnergySim(cfg, data)
    e0 = cfg.battery.soc_init * cfg.battery.capacity_kwh
    best = np.inf
    gts, bats = np.arange(0, 501, 100.0), np.arange(-100, 101, 50.0)
    for combo in itertools.product(itertools.product(gts, bats), repeat=3):
        sim.reset()
        cost = 0.0
        for a in combo:
            cost += sim.step(np.array(a))["cost_period"]
        if sim.bat_e_kwh >= e0 - 1e-9:
            best = min(best, cost)
    assert res.summary["total_cost"] == pytest.approx(best, abs=1e-6)
    assert res.plan.objective == pytest.approx(best, abs=1e-6)
    # the band rule matters: the exact MILP beats the conservative LP on this toy
    inner = solve_plan(cfg, data, ramp_model="inner", terminal_bat_kwh=e0)
    assert inner.objective > best + 1.0 or shutdown
    if shutdown:  # the turbine starts (its start and hourly cost are worth the peak) and stops
        assert res.table.gt_p_kw.iloc[0] == pytest.approx(200) and res.table.gt_p_kw.iloc[-1] == 0


def test_mpc_with_perfect_forecasts_and_full_horizon_equals_oracle():
    for soc_dep in (False, True):
        cfg, data = day_site(soc_dependent=soc_dep)
        o = oracle(cfg, data).summary["total_cost"]
        m = RollingMPC(cfg, horizon_h=24).run(data)
        assert all(s == "Optimal" for s in m.statuses)
        assert m.summary["total_cost"] == pytest.approx(o, rel=1e-9 if not soc_dep else 1e-4)


def test_mpc_short_horizon_and_noise_are_reproducible():
    cfg, data = day_site()
    o = oracle(cfg, data).summary["total_cost"]
    a = RollingMPC(cfg, 4, 0.1, np.random.default_rng(7)).run(data)
    b = RollingMPC(cfg, 4, 0.1, np.random.default_rng(7)).run(data)
    assert a.summary["total_cost"] == b.summary["total_cost"]
    assert a.summary["total_cost"] >= o - 1e-6
    f = noisy_forecast(data, 0, 4, 0.2, np.random.default_rng(0))
    assert np.all(np.abs(f.load_e_kw / data.load_e_kw[:4] - 1) <= 0.2 + 1e-12)
    with pytest.raises(ValueError):
        noisy_forecast(data, 0, 4, 0.2, None)


def test_summary_carbon_with_and_without_trading():
    cfg, data = day_site()
    res = oracle(cfg, data)
    s = summarise(cfg, res.table, 1.0)
    assert s["carbon_cost_no_trading"] == pytest.approx(0.03 * s["co2_kg"])
    assert s["carbon_cost_trading"] == pytest.approx(0.03 * max(0.0, s["co2_kg"] - 1500))


def test_hard_carbon_cap_binds_and_no_trading_prices_all_emissions():
    import dataclasses

    from aggregation.multi_energy import CarbonSpec

    cfg, data = day_site()
    free = oracle(cfg, data).summary["co2_kg"]
    capped = dataclasses.replace(cfg, carbon=CarbonSpec(price_per_kg=0.03, quota_kg_per_day=0.95 * free, hard_cap=True))
    res = oracle(capped, data)
    assert res.summary["co2_kg"] <= 0.95 * free + 1e-6
    no_trade = dataclasses.replace(cfg, carbon=CarbonSpec(price_per_kg=0.03, quota_kg_per_day=1500, trading=False))
    r2 = oracle(no_trade, data)
    assert r2.summary["carbon_cost"] == pytest.approx(0.03 * r2.summary["co2_kg"])
    assert abs(r2.replay_gap) < 1e-3 * r2.summary["total_cost"]

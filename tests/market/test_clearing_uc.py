"""Market clearing on a 3-unit hand case; unit-commitment constraints in the oracle and the game."""

from __future__ import annotations

import numpy as np
import pytest

from grid.unit_commitment import (
    CostWeights,
    MarketUnit,
    check_uc_schedule,
    clear_market,
    day_cost,
    market_units,
    settle_period,
    solve_uc,
)
from learners.market_env import RulePolicy, rollout


def _unit(name: str, cost: float, p_min: float, p_max: float, **kw) -> MarketUnit:
    base = dict(ramp_mw_per_h=1e6, co2_kg_per_mwh=0.0, startup_cost=0.0, no_load_cost_per_h=0.0, min_up_h=0.0,
                min_down_h=0.0)
    base.update(kw)
    return MarketUnit(name, "hand", p_max, p_min, seg_width_mw=(p_max,), seg_cost_per_mwh=(cost,), **base)


HAND = (_unit("a", 10.0, 20.0, 100.0), _unit("b", 30.0, 0.0, 50.0), _unit("c", 20.0, 10.0, 80.0))


def test_merit_order_hand_case() -> None:
    # on: a, b, c. Minimums 20 + 0 + 10 = 30 MW; 150 MW demand -> 120 more: a +80 (10 $), c +40 (20 $).
    r = clear_market(HAND, np.array([True, True, True]), 150.0)
    np.testing.assert_allclose(r.p_mw, [100.0, 0.0, 50.0])
    assert r.price_per_mwh == 20.0 and r.marginal_unit == 2 and r.shortage_mw == 0 and r.surplus_mw == 0
    # 210 MW: a full, c full (80), b takes 30 -> b sets 30 $/MWh
    r = clear_market(HAND, np.array([True, True, True]), 210.0)
    np.testing.assert_allclose(r.p_mw, [100.0, 30.0, 80.0])
    assert r.price_per_mwh == 30.0
    # a markup of 2 on a (offer 30 $) moves it behind c: 150 MW -> c full first (70 above min), then a/b tie at 30
    r = clear_market(HAND, np.array([True, False, True]), 150.0, offer_markup=np.array([2.0, 0.0, 0.0]))
    np.testing.assert_allclose(r.p_mw, [70.0, 0.0, 80.0])
    assert r.price_per_mwh == 30.0


def test_shortage_and_surplus() -> None:
    cw = CostWeights(price_cap_per_mwh=999.0)
    r = clear_market(HAND, np.array([True, False, False]), 130.0, cw=cw)
    assert r.shortage_mw == pytest.approx(30.0) and r.price_per_mwh == 999.0
    r = clear_market(HAND, np.array([True, False, True]), 25.0)
    assert r.surplus_mw == pytest.approx(5.0) and r.price_per_mwh == 10.0
    np.testing.assert_allclose(r.p_mw, [20.0, 0.0, 10.0])
    with pytest.raises(ValueError):
        clear_market(HAND, np.array([True, False]), 10.0)


def test_day_cost_counts_starts_and_penalties() -> None:
    units = (_unit("a", 10.0, 0.0, 100.0, startup_cost=500.0, no_load_cost_per_h=5.0),)
    on = np.array([[False], [True], [True]])
    p = np.array([[0.0], [50.0], [60.0]])
    c = day_cost(units, on, p, [0, 0, 10.0], [0, 0, 0], [10.0, 0, -4.0], 2.0, CostWeights(1000, 200, 100))
    assert c["fuel"] == pytest.approx(10 * 110 * 2) and c["startup"] == 500 and c["no_load"] == pytest.approx(20)
    assert c["shortage"] == pytest.approx(1000 * 20) and c["shift"] == pytest.approx(100 * 12)


def test_oracle_respects_uc_constraints() -> None:
    units = market_units([("coal", "coal", 200.0), ("ccgt", "gas_cc_new", 150.0), ("oil", "oil_steam", 80.0)],
                         initially_on=[True, False, False])
    load = np.array([150.0, 180.0, 300.0, 380.0, 260.0, 120.0])
    res = solve_uc(units, load, 2.0, adj_lo_mw=-0.2 * load, adj_hi_mw=0.2 * load, inertia=0.5)
    assert check_uc_schedule(units, res.on, res.p_mw, 2.0) == []
    # balance and inertia hold in the optimum
    np.testing.assert_allclose(res.p_mw.sum(1) + res.shortage_mw - res.surplus_mw, load + res.adjustment_mw, atol=1e-5)
    a_prev = np.r_[0.0, res.adjustment_mw[:-1]]
    np.testing.assert_allclose(res.adjustment_mw, 0.5 * a_prev + 0.5 * res.command_mw, atol=1e-6)
    assert np.all(res.adjustment_mw >= -0.2 * load - 1e-6) and np.all(res.adjustment_mw <= 0.2 * load + 1e-6)
    assert res.cost["total"] == pytest.approx(res.objective, rel=1e-6)
    # fixing the load (no flexibility) can only cost more
    fixed = solve_uc(units, load, 2.0, adj_lo_mw=0 * load, adj_hi_mw=0 * load)
    assert fixed.cost["total"] >= res.cost["total"] - 1e-6


def test_check_uc_schedule_finds_violations() -> None:
    units = market_units([("coal", "coal", 200.0)], initially_on=[False])  # 8 h up/down = 4 periods of 2 h
    on = np.array([[True], [True], [False], [False], [False], [False]])
    p = np.array([[100.0], [100.0], [0.0], [0.0], [0.0], [0.0]])
    assert any("up run" in v for v in check_uc_schedule(units, on, p, 2.0))
    p[0, 0] = 10.0  # below p_min (80 MW)
    assert any("outside" in v for v in check_uc_schedule(units, on, p, 2.0))


def test_game_schedules_respect_uc(game) -> None:
    rng = np.random.default_rng(1)
    for seed in range(3):
        r = rollout(game, lambda obs: {a: rng.uniform(-1, 1, game.action_space(a).shape) for a in obs}, seed)
        assert check_uc_schedule(game.units, r["on"], r["p_mw"], game.dt) == []
    r = rollout(game, RulePolicy(game), 0)
    assert check_uc_schedule(game.units, r["on"], r["p_mw"], game.dt) == []


def test_clearing_with_markups_hand_case() -> None:
    # a (10 $, 20-100 MW), b (30 $, 0-50 MW), c (20 $, 10-80 MW), all on, 170 MW demand.
    # markups: a +50 % (offer 15), b 0 % (30), c +100 % (40). Minimums 30 MW; 140 MW more in offer order:
    # a 80 MW at 15, b 50 MW at 30, c 10 MW at 40 -> c is marginal, price 40 $/MWh.
    mk = np.array([0.5, 0.0, 1.0])
    r = clear_market(HAND, np.array([True, True, True]), 170.0, offer_markup=mk)
    np.testing.assert_allclose(r.p_mw, [100.0, 50.0, 20.0])
    assert r.price_per_mwh == pytest.approx(40.0) and r.marginal_unit == 2
    # at cost the same demand clears on c at 20 $: a +80, c +60, b nothing; the markups doubled the price
    r0 = clear_market(HAND, np.array([True, True, True]), 170.0)
    np.testing.assert_allclose(r0.p_mw, [100.0, 0.0, 70.0])
    assert r0.price_per_mwh == pytest.approx(20.0) and r0.marginal_unit == 2
    # settlement of the marked-up case over 2 h (no starts, no no-load): profit = (40 - cost) x p x 2
    s = settle_period(HAND, np.ones(3, bool), np.ones(3, bool), r, 170.0, 2.0)
    np.testing.assert_allclose(s.revenue, [8000.0, 4000.0, 1600.0])
    np.testing.assert_allclose(s.profit, [(40 - 10) * 200.0, (40 - 30) * 100.0, (40 - 20) * 40.0])
    assert s.load_payment == pytest.approx(40.0 * 170 * 2) and s.load_shortage_cost == 0.0


def _identity(units, was_on, on, demand, mk=None, cw=None):
    cw = cw or CostWeights()
    clr = clear_market(units, on, demand, mk, cw)
    s = settle_period(units, was_on, on, clr, demand, 2.0, cw)
    social = day_cost(units, on[None], clr.p_mw[None], [clr.shortage_mw], [clr.surplus_mw], [0.0], 2.0, cw,
                      initially_on=was_on)["total"]
    assert s.load_payment + s.load_shortage_cost - s.profit.sum() - s.nonperformance_charge.sum() == \
        pytest.approx(social)
    return s


def test_settlement_is_a_transfer_plus_social_cost() -> None:
    units = (_unit("a", 10.0, 20.0, 100.0, startup_cost=300.0, no_load_cost_per_h=4.0),
             _unit("b", 30.0, 0.0, 50.0), _unit("c", 20.0, 10.0, 80.0, no_load_cost_per_h=2.0))
    on = np.array([True, True, True])
    _identity(units, np.array([False, True, True]), on, 150.0, np.array([0.2, 0.0, 0.4]))  # normal, a starts
    s = _identity(units, on, np.array([True, False, True]), 20.0)  # surplus: 30 MW minimum for 20 MW
    # 10 MW spilled for 2 h at 200 $/MWh, charged 20:10 to a and c; payment only for the 20 MW served
    np.testing.assert_allclose(s.surplus_charge, [4000 * 20 / 30, 0.0, 4000 * 10 / 30])
    np.testing.assert_allclose(s.revenue.sum(), 10.0 * 20 * 2)
    s = _identity(units, on, np.array([True, False, True]), 200.0)  # shortage: 180 MW committed
    # 20 MW short for 2 h: 2000 $/MWh x 40 MWh, all on b (the only offline unit); price at the cap
    np.testing.assert_allclose(s.nonperformance_charge, [0.0, 80_000.0, 0.0])
    assert s.load_shortage_cost == pytest.approx(1000.0 * 40) and s.load_payment == pytest.approx(1000.0 * 180 * 2)

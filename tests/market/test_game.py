"""The game: PettingZoo API, inertia dynamics, reward range, high-price probability."""

from __future__ import annotations

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test

from learners.market_env import (
    MarketConfig,
    MarketEnv,
    RulePolicy,
    exceed_probability,
    high_price_probability,
    price_threshold,
    rollout,
)


def test_parallel_api(game) -> None:
    parallel_api_test(game, num_cycles=30)


def test_inertia_dynamics(game) -> None:
    # full-up commands c_t = 0.4 B_t: realised r_t = rho r_{t-1} + (1 - rho) c_t, clipped to the envelope
    rho = game.config.inertia
    obs, _ = game.reset(seed=3)
    r_prev = 0.0
    while game.agents:
        game.step({"load": np.array([1.0], np.float32)})
        h = game.history[-1]
        t = h["period"]
        want = np.clip(rho * r_prev + (1 - rho) * h["command_mw"], game.adj_lo_mw[t], game.adj_hi_mw[t])
        assert h["realised_mw"] == pytest.approx(want)
        r_prev = h["realised_mw"]
    cmd = np.array([h["command_mw"] for h in game.history])
    assert np.allclose(cmd, 0.4 * game.baseline)
    assert game.history[0]["realised_mw"] == pytest.approx((1 - rho) * cmd[0])


def test_envelope_bounds_the_adjustment() -> None:
    env = MarketEnv(MarketConfig(flex_lo_frac=(-0.1,) * 12, flex_hi_frac=(0.05,) * 12, inertia=0.0))
    env.reset(seed=0)
    env.step({"load": np.array([1.0], np.float32)})
    assert env.history[-1]["realised_mw"] == pytest.approx(0.05 * env.baseline[0])
    env.step({"load": np.array([-1.0], np.float32)})
    assert env.history[-1]["realised_mw"] == pytest.approx(-0.1 * env.baseline[1])


@pytest.mark.parametrize("policy", ["random", "all_off", "all_on_up", "rule"])
def test_reward_within_range(game, policy: str) -> None:
    rng = np.random.default_rng(0)
    pols = {
        "random": lambda obs: {a: rng.uniform(-1, 1, game.action_space(a).shape) for a in obs},
        "all_off": lambda obs: {a: -np.ones(game.action_space(a).shape) for a in obs},
        "all_on_up": lambda obs: {a: np.ones(game.action_space(a).shape) for a in obs},
        "rule": RulePolicy(game),
    }
    r = rollout(game, pols[policy], 5)
    for a in game.possible_agents:  # every agent's own day return; supply rewards also per period
        assert -3000.0 <= r["returns"][a] <= 0.0
        if a != "load":  # the load's shaped reward may be positive in a period that pays energy back
            assert all(-3000.0 / game.T <= h["rewards"][a] <= 0.0 for h in game.history)
    assert -3000.0 <= r["return"] <= 0.0


def test_rewards_are_each_sides_own_money(game) -> None:
    # supply group g: -(3000/T) clip(1/2 - profit_g / (2 P_g), 0, 1); load: -(3000/T) its cost / C_L
    rng = np.random.default_rng(4)
    rollout(game, lambda obs: {a: rng.uniform(-1, 1, game.action_space(a).shape) for a in obs}, 11)
    s = 3000.0 / game.T
    run = 0.0  # the load's running return, kept within [-3000, 0]
    for h in game.history:
        want_load = float(np.clip(run - s * h["load_cost"] / game.load_scale, -3000.0, 0.0)) - run
        assert h["rewards"]["load"] == pytest.approx(want_load)
        run += want_load
        for tech, pi in h["profit"].items():
            want = -s * np.clip(0.5 - pi / (2 * game.profit_scale[tech]), 0, 1)
            assert h["rewards"][f"supply_{tech}"] == pytest.approx(want)
    # the load's day: energy at the clearing prices + value of lost load + the day-end shift penalty
    # (paid as it accrues; the shaping telescopes to 100 $/MWh x |net shifted energy of the day|)
    hist = game.history
    served = np.array([h["demand_mw"] - h["shortage_mw"] for h in hist])
    pay = sum(h["price_per_mwh"] * e * game.dt for h, e in zip(hist, served, strict=True))
    short = 1000.0 * sum(h["shortage_mw"] for h in hist) * game.dt
    net = sum(h["realised_mw"] + h["elastic_mw"] for h in hist) * game.dt
    assert sum(h["load_cost"] for h in hist) == pytest.approx(pay + short + 100.0 * abs(net))
    assert game.reward_offset["load"] == 0.0 and game.reward_offset["supply_coal"] == -s / 2


def test_markup_raises_price_and_profit(game) -> None:
    # everyone committed; the gas groups mark up 50 % instead of 0: prices rise, so do the gas profits
    def pol(markup: float):
        return lambda obs: {a: (np.array([0.0], np.float32) if a == "load" else
                                np.array([1.0, markup if "gas" in a else -1.0], np.float32)) for a in obs}

    lo, hi = rollout(game, pol(-1.0), 3), rollout(game, pol(1.0), 3)
    assert np.all(hi["price"] >= lo["price"] - 1e-9) and hi["price"].mean() > lo["price"].mean() * 1.1
    gas = [k for k in game.groups if "gas" in k]
    prof = [sum(h["profit"][k] for h in game.history for k in gas)]
    rollout(game, pol(-1.0), 3)
    assert prof[0] > sum(h["profit"][k] for h in game.history for k in gas)
    assert hi["load_cost"] > lo["load_cost"]  # a transfer from the load to the suppliers


def test_reliability_commitment_starts_offline_units_and_charges_withholding() -> None:
    # every group asks to decommit from the start; the operator starts offline units that may start
    # whenever the committed capacity cannot cover the demand, and a shortage that remains is charged
    # to the offline units. (It cannot veto a unit being shut down in the same period: docs/market.md §2.3.)
    env = MarketEnv()
    rollout(env, lambda obs: {a: (np.zeros(1) if a == "load" else np.array([-1.0, 1.0])) for a in obs}, 2)
    assert sum(h["ruc_starts"] for h in env.history) > 0
    for h in env.history:
        if h["shortage_mw"] > 1e-9:
            assert h["nonperformance"] > 0 and not all(h["on"])
        if h["ruc_starts"] > 0:  # operator-started units offer at cost
            assert np.all(np.asarray(h["markup"])[np.asarray(h["ruc"], bool)] == 0)


def test_threshold_is_the_competitive_nominal_day(game) -> None:
    # the 75th percentile of the nominal day's prices with rule commitment and offers at marginal cost
    nominal = rollout(game, RulePolicy(game), uncontrolled=True)
    assert all(np.all(h["markup"] == 0) for h in game.history)
    assert price_threshold(game) == pytest.approx(np.percentile(nominal["price"], 75))
    # marking everything up 50 % makes most periods high-priced; offering at cost leaves most below
    up = lambda obs: {a: (np.zeros(1) if a == "load" else np.array([1.0, 1.0])) for a in obs}  # noqa: E731
    prob_up, _ = high_price_probability(game, up, seeds=range(20, 26))
    prob_rule, _ = high_price_probability(game, RulePolicy(game), seeds=range(20, 26))
    assert prob_up.mean() > 0.9 and prob_rule.mean() < prob_up.mean()


def test_high_price_probability_hand_counted(game) -> None:
    prices = np.array([[10.0, 50.0, 40.0], [60.0, 20.0, 41.0], [70.0, 80.0, 39.0]])
    np.testing.assert_allclose(exceed_probability(prices, 40.0), [2 / 3, 2 / 3, 1 / 3])
    # the estimate over sampled days equals counting the days by hand
    pol = RulePolicy(game)
    thr = price_threshold(game)
    prob, p = high_price_probability(game, pol, seeds=[7, 8, 9, 10], threshold=thr)
    counted = np.zeros(game.T)
    for s in (7, 8, 9, 10):
        counted += rollout(game, pol, s)["price"] > thr
    np.testing.assert_allclose(prob, counted / 4)
    assert p.shape == (4, game.T)


def test_flexible_part_bounds_the_adjustment() -> None:
    # a 600 MW baseline of which only 100 MW is controllable: +-40 % of the 100 MW
    env = MarketEnv(MarketConfig(flexible_mw=(100.0,) * 12, inertia=0.0))
    env.reset(seed=0)
    env.step({"load": np.array([1.0], np.float32)})
    assert env.history[-1]["realised_mw"] == pytest.approx(40.0)
    assert np.allclose(env.adj_lo_mw, -40.0) and np.allclose(env.adj_hi_mw, 40.0)

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
    rewards = [h["reward"] for h in game.history]
    assert all(-3000.0 / game.T <= x <= 0.0 for x in rewards)
    assert -3000.0 <= r["return"] <= 0.0


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

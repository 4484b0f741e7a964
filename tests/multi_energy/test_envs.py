"""Gymnasium and PettingZoo environments: API checkers and the reward/oracle link."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import parallel_api_test

from learners.multi_energy_env import MultiEnergyEnv, MultiEnergyParallelEnv
from learners.oracle import oracle

from ._sites import day_site


@pytest.mark.parametrize("reward", ["cost", "ahp"])
@pytest.mark.parametrize("err", [0.0, 0.2])
def test_gymnasium_check_env(reward, err):
    cfg, data = day_site()
    check_env(MultiEnergyEnv(cfg, data, reward=reward, forecast_error=err), skip_render_check=True)


def test_pettingzoo_parallel_api():
    cfg, data = day_site()
    env = MultiEnergyParallelEnv(cfg, data)
    parallel_api_test(env, num_cycles=60)
    assert env.possible_agents == ["gt", "battery", "tes", "hp"]


def test_sb3_check_env():
    sb3 = pytest.importorskip("stable_baselines3.common.env_checker")
    cfg, data = day_site()
    sb3.check_env(MultiEnergyEnv(cfg, data), warn=True)


def test_cost_return_equals_minus_oracle_cost():
    cfg, data = day_site()
    res = oracle(cfg, data)
    env = MultiEnergyEnv(cfg, data, reward="cost")
    env.reset(seed=0)
    mid = (env.core.sim.range_hi + env.core.sim.range_lo) / 2
    half = (env.core.sim.range_hi - env.core.sim.range_lo) / 2
    ret = 0.0
    for sp in res.plan.schedule_kw:
        _, r, term, trunc, _ = env.step(((sp - mid) / half).astype(np.float64))
        ret += r
    assert term and not trunc
    assert -ret / env.core.reward_scale == pytest.approx(res.summary["total_cost"], rel=1e-9)


def test_day_sampler_is_seeded():
    cfg, data = day_site()

    def sample(rng):
        scale = rng.uniform(0.8, 1.2)
        return type(data)(data.dt_h, data.load_e_kw * scale, data.load_h_kw, data.wind_kw, data.pv_kw,
                          data.buy_price, data.sell_price)

    env = MultiEnergyEnv(cfg, sample)
    a, _ = env.reset(seed=5)
    b, _ = env.reset(seed=5)
    np.testing.assert_array_equal(a, b)

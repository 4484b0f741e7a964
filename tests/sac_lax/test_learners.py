"""SB3 learners: every method runs a few hundred steps; resume after a kill continues identically."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aggregation.multi_energy import SiteData
from learners.forecasters import Forecaster, ForecasterConfig, MinMaxScaler, build_model
from learners.sac_lax import DaySampler, MultiEnergyTask, SB3Learner, evaluate_policy_day, forecaster_provider
from learners.sac_lax_config import METHODS, SB3Config
from tests.multi_energy._sites import day_site

FAST = dict(net_arch=(16, 16), batch_size=16, learning_starts=48, ppo_n_steps=96, checkpoint_interval=4)


def _year(days: int = 6) -> tuple:
    cfg, d = day_site(soc_dependent=False)
    rng = np.random.default_rng(0)
    cat = [np.concatenate([getattr(d, k) * (1 + 0.05 * rng.standard_normal(24)) if k.endswith("kw") else getattr(d, k)
                           for _ in range(days)]) for k in ("load_e_kw", "load_h_kw", "wind_kw", "pv_kw", "buy_price",
                                                            "sell_price")]
    return cfg, SiteData(1.0, *cat)


def _provider(year: SiteData):
    fcfg = ForecasterConfig(kind="gru", lookback=24, horizon=24, hidden=8)
    series = np.stack([year.load_e_kw, year.load_h_kw, year.wind_kw, year.pv_kw], axis=1)
    return forecaster_provider(Forecaster(fcfg, build_model(fcfg), MinMaxScaler.fit(series), []), year)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_runs_a_few_hundred_steps(method: str) -> None:
    cfg, year = _year()
    sampler = DaySampler(year, range(1, 5))
    conf = SB3Config(method=method, n_episodes=8, **FAST)
    fc = _provider(year) if conf.forecast else None
    learner = SB3Learner(MultiEnergyTask(cfg, sampler, fc), conf)
    eps = learner.train()
    assert len(eps) == 8 and learner.model.num_timesteps == 192
    res = evaluate_policy_day(learner, cfg, DaySampler(year, [5]), conf, fc)
    assert np.isfinite(res["summary"]["total_cost"])
    if conf.projection:
        assert res["violation_kwh"] < 1e-6 and res["proj_infeasible"] == 0
        assert all(e["violation_kwh"] < 1e-6 for e in eps)


def _params(learner: SB3Learner) -> list[torch.Tensor]:
    return [p.detach().clone() for p in learner.model.policy.parameters()]


@pytest.mark.parametrize("method", ["sac_lax"])
def test_resume_after_kill_is_identical(method: str, tmp_path) -> None:
    cfg, year = _year()
    conf = SB3Config(method=method, n_episodes=8, **FAST)
    fc = _provider(year) if conf.forecast else None
    a = SB3Learner(MultiEnergyTask(cfg, DaySampler(year, range(1, 5)), fc), conf)
    a.train(checkpoint_dir=tmp_path / "a")
    b = SB3Learner(MultiEnergyTask(cfg, DaySampler(year, range(1, 5)), fc), conf)
    b.train(None, 4, checkpoint_dir=tmp_path / "b")  # "killed" after the first checkpoint
    del b
    c = SB3Learner(MultiEnergyTask(cfg, DaySampler(year, range(1, 5)), fc), conf)
    c.train(None, 8, checkpoint_dir=tmp_path / "b", resume=True)
    assert [e["return"] for e in c.episodes] == [e["return"] for e in a.episodes]
    assert [e["day"] for e in c.episodes] == [e["day"] for e in a.episodes]
    for p, q in zip(_params(a), _params(c), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_exported_policy_plays_a_day(tmp_path) -> None:
    """The pipeline hook: exported SAC-LAx weights + forecaster weights -> one projected day."""
    from learners.forecasters import save_forecaster
    from learners.sac_lax import export_weights, play_day

    cfg, year = _year()
    conf = SB3Config(method="sac_lax", n_episodes=2, **FAST)
    fcfg = ForecasterConfig(kind="gru", lookback=24, horizon=24, hidden=8)
    series = np.stack([year.load_e_kw, year.load_h_kw, year.wind_kw, year.pv_kw], axis=1)
    fc = Forecaster(fcfg, build_model(fcfg), MinMaxScaler.fit(series), [])
    learner = SB3Learner(MultiEnergyTask(cfg, DaySampler(year, range(1, 5)), forecaster_provider(fc, year)), conf)
    learner.train()
    export_weights(learner, tmp_path / "p.zip", {"scenario": "toy"})
    save_forecaster(fc, tmp_path / "f.pt")
    day = year.window(5 * 24, 6 * 24)
    res = play_day(cfg, day, series[4 * 24:5 * 24], policy=tmp_path / "p.zip", forecaster=tmp_path / "f.pt")
    assert len(res["table"]) == 24 and res["violation_kwh"] < 1e-6
    assert res["latency_ms"][0] < 50

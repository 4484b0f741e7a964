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


def test_convergence_episode_definition() -> None:
    from learners.sac_lax import convergence_episode

    ep = [10, 20, 30, 40, 50, 60, 70, 80]
    # improves, then stays within 1 % of the final moving average from the evaluation at episode 50 on
    v = [-20.0, -17.0, -15.0, -14.2, -14.0, -14.05, -13.98, -14.01]
    assert convergence_episode(ep, v, tol_pct=1.0, window=3) == 60
    assert convergence_episode(ep, [-14.0] * 8) == 30  # flat from the start: the first full window
    assert convergence_episode(ep, [-20.0 + i for i in range(8)]) == 80  # still improving: the end of the run
    assert convergence_episode(ep, v, tol_pct=50.0) == 30
    with pytest.raises(ValueError):
        convergence_episode([1, 2], [0.0, 0.0])


def test_held_out_days_are_outside_training() -> None:
    from learners.forecasters import split_year
    from learners.sac_lax import held_out_days

    tr, va, te = split_year(8760)
    test = held_out_days(8760)
    assert test == [311, 319, 327, 335, 343, 351, 359]
    assert len({d % 7 for d in test}) == 7  # every weekday once
    assert all(d * 24 >= te.start and (d + 1) * 24 <= te.stop for d in test)
    val = held_out_days(8760, 5, part=1)
    assert all(d * 24 >= va.start and (d + 1) * 24 <= va.stop for d in val)
    assert max(tr.stop // 24 - 1, 0) < min(val)  # training days are 0 .. tr.stop // 24 - 1
    with pytest.raises(ValueError):
        held_out_days(8760, 30, part=2)


def test_evaluate_days_one_result_per_day() -> None:
    from learners.sac_lax import evaluate_days

    cfg, year = _year()
    conf = SB3Config(method="sac_l", n_episodes=1, **FAST)
    learner = SB3Learner(MultiEnergyTask(cfg, DaySampler(year, range(1, 3))), conf)
    res = evaluate_days(learner, cfg, year, [4, 5], conf)
    assert len(res) == 2 and all(r["violation_kwh"] < 1e-6 for r in res)
    assert res[0]["summary"]["total_cost"] != res[1]["summary"]["total_cost"]


def test_replay_stores_feasible_or_raw_actions() -> None:
    """Seed 001 §3.4 stores a_feas; ``replay_action="raw"`` stores the actor's a_raw (same trajectory)."""
    cfg, year = _year()
    buf = {}
    for mode in ("feasible", "raw"):
        conf = SB3Config(method="sac_l", n_episodes=2, replay_action=mode, **{**FAST, "learning_starts": 48})
        learner = SB3Learner(MultiEnergyTask(cfg, DaySampler(year, range(1, 5))), conf)
        learner.train()
        rb = learner.model.replay_buffer
        buf[mode] = (rb.actions[:48, 0].copy(), rb.rewards[:48, 0].copy())
    np.testing.assert_array_equal(buf["feasible"][1], buf["raw"][1])  # same random actions, same projected steps
    assert np.abs(buf["feasible"][0] - buf["raw"][0]).max() > 1e-3  # random raw actions are often infeasible


@pytest.mark.slow
def test_shipped_policy_plays_the_campus_day_near_the_optimum() -> None:
    """The shipped SAC-LAx weights + Ax forecaster on campus_vpp's day 15 (a training day): feasible, near the oracle."""
    from pathlib import Path

    from learners.oracle import oracle
    from learners.sac_lax import play_day
    from scenarios.multi_energy import build_day, load_scenario

    sc = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "campus_vpp.yaml")
    cfg, day, _ = build_day(sc)
    prev = build_day(sc.model_copy(update={"start_day_of_year": sc.start_day_of_year - 1}))[1]
    hist = np.stack([prev.load_e_kw, prev.load_h_kw, prev.wind_kw, prev.pv_kw], axis=1)
    res = play_day(cfg, day, hist, day_of_year=sc.start_day_of_year)
    opt = oracle(cfg, day, ramp_model=sc.ramp_model).summary["total_cost"]
    assert res["violation_kwh"] < 1e-6 and res["proj_infeasible"] == 0
    assert res["summary"]["total_cost"] <= 1.03 * opt  # measured 13,966 vs 13,711 (+1.86 %)

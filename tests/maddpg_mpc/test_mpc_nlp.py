"""The IPOPT/CasADi real-time MPC (learners/mpc_nlp.py)."""

from __future__ import annotations

import numpy as np
import pytest

from learners.mpc_nlp import NlpMPC
from learners.oracle import oracle

from ._toy import toy_day


def test_perfect_forecast_full_horizon_equals_oracle() -> None:
    """H covers the day, forecasts exact: the NLP MPC's simulated cost is the oracle's.

    Tolerance 0.1 %: the oracle linearises the quadratic O&M (8 tangents, <= 0.0016 $/h low) and
    fixes the SOC-dependent efficiency by a fixed point, the NLP keeps both exact but is a local
    solver on a nonconvex (bilinear SOC) problem; both costs come from the same simulator replay.
    """
    cfg, data = toy_day(8)
    o = oracle(cfg, data).summary["total_cost"]
    m = NlpMPC(cfg, horizon_h=8.0)
    res = m.run(data)
    assert all(s == "Solve_Succeeded" for s in res.statuses)
    assert res.summary["total_cost"] == pytest.approx(o, rel=1e-3)
    assert res.summary["unserved_e_kwh"] + res.summary["unserved_h_kwh"] < 1e-3


def test_warm_start_reduces_iterations() -> None:
    cfg, data = toy_day(12)
    warm = NlpMPC(cfg, horizon_h=4.0, warm_start=True).run(data)
    cold = NlpMPC(cfg, horizon_h=4.0, warm_start=False).run(data)
    # same windows (H = 4 until the last three periods); the first solve is cold in both
    assert warm.iterations[1:9].mean() < 0.8 * cold.iterations[1:9].mean()
    # IPOPT is a local solver on a nonconvex problem: warm and cold starts may end in different local optima
    assert warm.summary["total_cost"] == pytest.approx(cold.summary["total_cost"], rel=1e-2)
    # the seed-002 speed target (one warm step <= 50 ms) is wall-clock: measured in
    # benchmarks (`vppsim bench maddpg_mpc`), not asserted here, where CI load decides it
    assert np.all(np.isfinite(warm.solve_s)) and np.all(warm.solve_s > 0)


def test_tracking_term_pulls_towards_plan() -> None:
    cfg, data = toy_day(6)
    free = NlpMPC(cfg, horizon_h=6.0).run(data)
    plan = np.zeros((6, len(cfg.controls)))
    plan[:, 0] = 2000.0  # turbine at 2 MW all day
    tracked = NlpMPC(cfg, horizon_h=6.0, track_weight=50.0).run(data, plan_kw=plan)
    d_free = np.abs(free.table["gt_p_kw"].to_numpy() - 2000.0).sum()
    d_tr = np.abs(tracked.table["gt_p_kw"].to_numpy() - 2000.0).sum()
    assert d_tr < d_free


def test_rejects_start_stop() -> None:
    from aggregation.kinds.gas_turbine import GasTurbineSpec
    from aggregation.multi_energy import SiteConfig

    with pytest.raises(ValueError):
        NlpMPC(SiteConfig(gt=GasTurbineSpec(p_min_kw=500, p_init_kw=0, allow_shutdown=True)))

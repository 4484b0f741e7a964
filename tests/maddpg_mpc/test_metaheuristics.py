"""PSO (pymoo) and DE (scipy) baselines (learners/metaheuristics.py): bounds, improvement, determinism."""

from __future__ import annotations

import numpy as np

from aggregation.multi_energy import MultiEnergySim
from learners.metaheuristics import decode, run_de, run_pso, schedule_cost

from ._toy import toy_day


def _check(res, cfg, data) -> None:
    sim = MultiEnergySim(cfg, data)
    assert res.schedule_kw.shape == (data.n_periods, len(cfg.controls))
    assert np.all(res.schedule_kw >= sim.range_lo - 1e-9) and np.all(res.schedule_kw <= sim.range_hi + 1e-9)
    assert abs(res.cost - schedule_cost(sim, res.schedule_kw)) < 1e-6
    # better than the middle of every range (a naive schedule)
    assert res.cost <= schedule_cost(sim, decode(sim, np.zeros(data.n_periods * len(cfg.controls))))
    assert res.best_history[-1] <= res.best_history[0] + 1e-9


def test_pso_bounds_and_progress() -> None:
    cfg, data = toy_day(4)
    res = run_pso(cfg, data, pop_size=12, n_gen=8, seed=3)
    _check(res, cfg, data)
    again = run_pso(cfg, data, pop_size=12, n_gen=8, seed=3)
    np.testing.assert_array_equal(res.schedule_kw, again.schedule_kw)


def test_de_bounds_and_progress() -> None:
    cfg, data = toy_day(4)
    res = run_de(cfg, data, pop_size=12, n_gen=8, rng=np.random.default_rng(5))
    _check(res, cfg, data)
    again = run_de(cfg, data, pop_size=12, n_gen=8, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(res.schedule_kw, again.schedule_kw)
    assert res.n_evals >= 12 * 8

"""PSO and DE baselines of seed 002 §5.1/§5.3: population 50, 200 iterations; DE F 0.8, CR 0.9.

Both search the day's whole schedule directly: T·k set-points (k controllable groups), each coded in
[−1, 1] and mapped affinely onto the group's static range as the RL environments do (turbine
[P_min, P_max], battery [−P_ch,max, P_dis,max], tank [−Q_ch,max, Q_dis,max], heat pump [0, P_max]);
the simulator then clips to each period's feasible range (ramp bands, SOC room) — seed 002 §4.3 ③.
The fitness of a schedule is the simulator's day cost (:func:`schedule_cost`: purchase − sales +
gas + O&M + imbalance penalty + carbon by the site's rule), the same number every method is
judged by.

* **PSO**: ``pymoo.algorithms.soo.nonconvex.pso.PSO`` (pymoo 0.6.2; its adaptive inertia and
  acceleration defaults), ``pop_size`` 50, ``n_gen`` 200, seeded through pymoo's own
  ``numpy.random.Generator``.
* **DE**: ``scipy.optimize.differential_evolution``, strategy ``best1bin``, mutation F = 0.8,
  recombination CR = 0.9, an initial population of exactly 50 drawn by a Latin hypercube from the
  caller's generator (scipy would otherwise use popsize × dimension individuals), ``maxiter`` 200,
  no gradient polish, ``rng`` = the caller's generator.

Neither is told the forecast: they optimise on the ``data`` given (perfect foresight on the day
passed; pass a forecast to get a day-ahead plan).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import differential_evolution
from scipy.stats import qmc

from aggregation.multi_energy import MultiEnergySim, SiteConfig, SiteData, carbon_cost, summarise

__all__ = ["MetaResult", "decode", "run_de", "run_pso", "schedule_cost"]


@dataclass
class MetaResult:
    """A metaheuristic's day.

    Attributes:
        method: ``"pso"`` or ``"de"``.
        schedule_kw: (T, k) best schedule in kW (within the static ranges).
        cost: its simulator day cost (currency).
        table: simulator rows of the schedule; summary: :func:`summarise` of them.
        wall_s: optimisation wall time (s); n_evals: fitness evaluations.
        best_history: best cost after each generation.
    """

    method: str
    schedule_kw: np.ndarray
    cost: float
    table: pd.DataFrame
    summary: dict[str, float]
    wall_s: float
    n_evals: int
    best_history: list[float] = field(default_factory=list)


def decode(sim: MultiEnergySim, x: np.ndarray) -> np.ndarray:
    """Coded schedule x ∈ [−1, 1]^(T·k) -> set-points (T, k) kW on the static ranges."""
    T, k = sim.data.n_periods, len(sim.controls)
    a = np.clip(np.asarray(x, float).reshape(T, k), -1.0, 1.0)
    mid, half = (sim.range_hi + sim.range_lo) / 2, (sim.range_hi - sim.range_lo) / 2
    return mid + a * half


def schedule_cost(sim: MultiEnergySim, schedule_kw: np.ndarray) -> float:
    """Simulator day cost of a schedule (T, k) kW (no table built: a few hundred µs for 24 periods)."""
    sim.reset()
    tot = 0.0
    for row in np.asarray(schedule_kw, float):
        tot += sim.step(row)["cost_period"]
    return tot + carbon_cost(sim.cfg, sim.emissions_kg)


def _result(method: str, sim: MultiEnergySim, x: np.ndarray, wall: float, n_evals: int, hist: list[float]
            ) -> MetaResult:
    sched = decode(sim, x)
    table = sim.run(sched)
    summ = summarise(sim.cfg, table, sim.data.dt_h)
    return MetaResult(method, sched, summ["total_cost"], table, summ, wall, n_evals, hist)


def run_pso(cfg: SiteConfig, data: SiteData, *, pop_size: int = 50, n_gen: int = 200, seed: int = 0) -> MetaResult:
    """Particle swarm optimisation of the day's schedule (pymoo).

    Args:
        cfg, data: site and the day it optimises on.
        pop_size: swarm size (seed 002: 50).
        n_gen: iterations (seed 002: 200).
        seed: pymoo's seed (it builds its own ``numpy.random.Generator`` from it).
    """
    from pymoo.algorithms.soo.nonconvex.pso import PSO
    from pymoo.core.problem import Problem
    from pymoo.optimize import minimize

    sim = MultiEnergySim(cfg, data)
    n_var = data.n_periods * len(sim.controls)
    hist: list[float] = []
    count = [0]

    class _Day(Problem):
        def __init__(self) -> None:
            super().__init__(n_var=n_var, n_obj=1, xl=-1.0, xu=1.0)

        def _evaluate(self, X: np.ndarray, out: dict, *args, **kwargs) -> None:
            f = np.array([schedule_cost(sim, decode(sim, x)) for x in X])
            count[0] += len(X)
            hist.append(float(min(f.min(), hist[-1] if hist else np.inf)))
            out["F"] = f[:, None]

    t0 = time.perf_counter()
    res = minimize(_Day(), PSO(pop_size=pop_size), ("n_gen", n_gen), seed=seed, verbose=False)
    wall = time.perf_counter() - t0
    return _result("pso", sim, np.asarray(res.X, float), wall, count[0], hist)


def run_de(cfg: SiteConfig, data: SiteData, *, pop_size: int = 50, n_gen: int = 200, mutation: float = 0.8,
           crossover: float = 0.9, rng: np.random.Generator | None = None) -> MetaResult:
    """Differential evolution of the day's schedule (scipy), F = ``mutation``, CR = ``crossover``.

    Args:
        cfg, data: site and the day it optimises on.
        pop_size: population (seed 002: 50; an explicit initial population, Latin hypercube).
        n_gen: generations (seed 002: 200).
        mutation, crossover: seed 002 §5.1: 0.8 and 0.9.
        rng: the caller's generator (default ``default_rng(0)``).

    Raises:
        ValueError: ``pop_size < 5`` (scipy's minimum).
    """
    if pop_size < 5:
        raise ValueError("scipy's differential evolution needs a population of at least 5")
    rng = rng if rng is not None else np.random.default_rng(0)
    sim = MultiEnergySim(cfg, data)
    n_var = data.n_periods * len(sim.controls)
    init = qmc.LatinHypercube(d=n_var, rng=rng).random(pop_size) * 2.0 - 1.0
    hist: list[float] = []
    count = [0]

    def f(x: np.ndarray) -> float:
        count[0] += 1
        return schedule_cost(sim, decode(sim, x))

    def cb(intermediate_result) -> None:
        hist.append(float(intermediate_result.fun))

    t0 = time.perf_counter()
    res = differential_evolution(f, [(-1.0, 1.0)] * n_var, strategy="best1bin", maxiter=n_gen, init=init,
                                 mutation=mutation, recombination=crossover, tol=0.0, atol=0.0, polish=False,
                                 rng=rng, callback=cb)
    wall = time.perf_counter() - t0
    return _result("de", sim, np.asarray(res.x, float), wall, count[0], hist)

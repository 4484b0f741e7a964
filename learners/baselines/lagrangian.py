"""Distributed baseline: price-based dual decomposition with one price per park.

The coordinator of park ``p`` broadcasts a price ``lambda_p`` (dimensionless,
per unit of a device's power swing); every device best-responds locally and
independently (vectorised here) by minimising::

    lambda_p * p_i(a) + (rho_i / 2) * (p_i(a) - p_i(usual))**2      over available a,

    rho_i = w_i / s_i,   s_i = max_a p_i(a) - min_a p_i(a) over available a,
    w_i = 0.5 + frac((i + 1) * 0.618...)  (golden-ratio sequence in [0.5, 1.5)).

Without the proximal term the response to a linear price is bang-bang (every
device of a park to its lowest or highest power); the proximal term makes each
device's response a staircase in ``lambda`` with thresholds at ``w_i`` times
half-steps of its ladder, and the deterministic spread ``w_i`` staggers the
thresholds of otherwise identical devices, so the park load moves in small
steps. Ties go to the usual action, then to the lowest action index.

The coordinator takes normalised subgradient steps on the coupling constraint
``L_p = T_p``::

    lambda_p <- lambda_p + alpha_p * (L_p - T_p) / S_p,

with ``S_p = sum_{i in p} s_i / w_i`` the park's load sensitivity to the price
(a Newton-like scaling; parks without movable devices keep price 0). The step
``alpha_p`` starts at ``alpha_0`` and halves whenever ``L_p - T_p`` changes sign
(the price overshot the target), a diminishing step that only shrinks where the
iterates oscillate. It stops when the park loads
changed by at most ``epsilon_kw`` in sum for ``h_m`` consecutive iterations
(Eq. 13, :class:`aggregation.hierarchy.ConvergenceMonitor`) or after
``max_iterations``; the best primal point seen on the true objective
``sum_p |L_p - T_p|`` is returned.
"""

from __future__ import annotations

import time

import numpy as np

from aggregation.hierarchy import ConvergenceMonitor
from aggregation.policy import KindView, Policy

from .common import COMFORT_GUARD_C, PeriodDecision, PeriodProblem, decision_from_actions

__all__ = ["LagrangianDecider", "best_response", "unit_weights"]

_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


def unit_weights(n: int) -> np.ndarray:
    """(n,) deterministic proximal weights ``w_i = 0.5 + frac((i + 1) * phi)`` in [0.5, 1.5)."""
    return 0.5 + np.modf((np.arange(n, dtype=np.float64) + 1.0) * _GOLDEN)[0]


class _Local:
    """Per-device data of the local best response, computed once per period."""

    def __init__(self, problem: PeriodProblem):
        cand, avail = problem.cand_kw, problem.avail
        rows = np.arange(problem.n)
        hi = np.where(avail, cand, -np.inf).max(axis=1)
        lo = np.where(avail, cand, np.inf).min(axis=1)
        self.swing_kw = np.maximum(hi - lo, 0.0) if problem.n else np.zeros(0)
        self.movable = self.swing_kw > 1e-9
        self.w = unit_weights(problem.n)
        rho = np.where(self.movable, self.w / np.maximum(self.swing_kw, 1e-9), 0.0)
        p0 = cand[rows, problem.usual]
        self.quad = np.where(avail, 0.5 * rho[:, None] * (cand - p0[:, None]) ** 2, np.inf)
        self.cand = cand
        self.usual = problem.usual
        self.rows = rows
        self.park = problem.park
        self.sensitivity_kw = np.bincount(
            problem.park, weights=np.where(self.movable, self.swing_kw / self.w, 0.0), minlength=problem.n_parks
        )


def best_response(problem: PeriodProblem, lam: np.ndarray, local: _Local | None = None) -> np.ndarray:
    """Every device's local best response to the park prices ``lam`` (n_parks,); flat int64 actions."""
    loc = _Local(problem) if local is None else local
    cost = np.asarray(lam, np.float64)[loc.park][:, None] * loc.cand + loc.quad
    best = cost.min(axis=1)
    tol = 1e-12 * (1.0 + np.abs(best))
    usual_ok = cost[loc.rows, loc.usual] <= best + tol
    return np.where(usual_ok, loc.usual, np.argmax(cost <= (best + tol)[:, None], axis=1)).astype(np.int64)


class LagrangianDecider:
    """Dual decomposition with per-park prices as a model decider: ``decider(views, policy) -> {kind: actions}``.

    The policy is ignored: devices start from their usual action (price 0).

    Args:
        epsilon_kw: Eq. 13 threshold on the summed park-load change between iterations.
        h_m: consecutive stable iterations for convergence.
        max_iterations: hard cap.
        step0: initial step ``alpha_0`` of every park (1 is a full Newton-like step).
        comfort_guard_c: the self-organiser's comfort rule (see :meth:`PeriodProblem.from_views`).

    Attributes:
        last: the last period's :class:`PeriodDecision` (``info``: ``prices`` of the returned point,
            ``final_prices``, ``best_iteration``, ``deltas_kw``).
        history: one summary dict per decided period.
    """

    name = "lagrangian"

    def __init__(
        self,
        *,
        epsilon_kw: float = 0.5,
        h_m: int = 3,
        max_iterations: int = 200,
        step0: float = 1.0,
        comfort_guard_c: float = COMFORT_GUARD_C,
    ):
        if step0 <= 0:
            raise ValueError("need step0 > 0")
        self.epsilon_kw = float(epsilon_kw)
        self.h_m = int(h_m)
        self.max_iterations = int(max_iterations)
        self.step0 = float(step0)
        self.comfort_guard_c = float(comfort_guard_c)
        self.last: PeriodDecision | None = None
        self.history: list[dict] = []

    def decide(self, problem: PeriodProblem) -> PeriodDecision:
        """Run the price iterations on one period problem (timed)."""
        t0 = time.perf_counter()
        loc = _Local(problem)
        target = problem.target_kw
        sens = np.maximum(loc.sensitivity_kw, 1e-9)
        movable_park = loc.sensitivity_kw > 1e-9  # a park without movable units keeps price 0
        lam = np.zeros(problem.n_parks)
        alpha = np.full(problem.n_parks, self.step0)
        act = problem.usual.copy()
        load = problem.park_load_kw(act)
        prev_gap = load - target
        monitor = ConvergenceMonitor(self.epsilon_kw, self.h_m, self.max_iterations, load)
        best_act, best_res, best_it, best_lam = act, float(np.abs(load - target).sum()), 0, lam.copy()
        while not monitor.done:
            act = best_response(problem, lam, loc)
            load = np.bincount(problem.park, weights=loc.cand[loc.rows, act], minlength=problem.n_parks)
            monitor.update(load)
            res = float(np.abs(load - target).sum())
            if res < best_res:
                best_act, best_res, best_it, best_lam = act, res, monitor.iterations, lam.copy()
            gap = load - target
            # Halve a park's step when its residual changed sign (the price crossed the target).
            alpha = np.where(np.sign(gap) * np.sign(prev_gap) < 0, 0.5 * alpha, alpha)
            prev_gap = gap
            lam = lam + np.where(movable_park, alpha * gap / sens, 0.0)
        elapsed = time.perf_counter() - t0
        info = {
            "prices": best_lam,
            "final_prices": lam.copy(),
            "best_iteration": best_it,
            "deltas_kw": list(monitor.deltas_kw),
        }
        return decision_from_actions(
            problem,
            best_act,
            self.name,
            time_s=elapsed,
            iterations=monitor.iterations,
            converged=monitor.converged,
            info=info,
        )

    def __call__(self, views: dict[str, KindView], policy: Policy | None = None) -> dict[str, np.ndarray]:
        t0 = time.perf_counter()
        problem = PeriodProblem.from_views(views, comfort_guard_c=self.comfort_guard_c)
        dec = self.decide(problem)
        dec.wall_s = time.perf_counter() - t0
        self.last = dec
        self.history.append(
            {
                "step": problem.step,
                "method": self.name,
                "residual_kw": dec.residual_kw,
                "time_s": dec.time_s,
                "wall_s": dec.wall_s,
                "iterations": dec.iterations,
                "converged": dec.converged,
                "best_iteration": dec.info["best_iteration"],
            }
        )
        return dec.actions

"""Distributed baseline: price-based dual decomposition with one price per park.

(With a VPP-level target that names groups of DERs, read "group" for "park":
one price per objective group of the :class:`~aggregation.coalitions.PeriodTable`.)
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

import numpy as np

from aggregation.coalitions import PeriodTable
from aggregation.hierarchy import ConvergenceMonitor

from .common import COMFORT_GUARD_C, PeriodDecider, PeriodDecision, Solution

__all__ = ["LagrangianDecider", "best_response", "unit_weights"]

_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


def unit_weights(n: int) -> np.ndarray:
    """(n,) deterministic proximal weights ``w_i = 0.5 + frac((i + 1) * phi)`` in [0.5, 1.5)."""
    return 0.5 + np.modf((np.arange(n, dtype=np.float64) + 1.0) * _GOLDEN)[0]


class _Local:
    """Per-device data of the local best response, computed once per period."""

    def __init__(self, problem: PeriodTable):
        cand, avail = problem.cand_kw.astype(np.float64), problem.avail
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
        self.park = problem.target_group
        self.n_groups = problem.n_target_groups
        self.sensitivity_kw = np.bincount(
            self.park, weights=np.where(self.movable, self.swing_kw / self.w, 0.0), minlength=self.n_groups
        )


def best_response(problem: PeriodTable, lam: np.ndarray, local: _Local | None = None) -> np.ndarray:
    """Every device's local best response to the park (group) prices ``lam`` (G,); flat int64 actions."""
    loc = _Local(problem) if local is None else local
    cost = np.asarray(lam, np.float64)[loc.park][:, None] * loc.cand + loc.quad
    best = cost.min(axis=1)
    tol = 1e-12 * (1.0 + np.abs(best))
    usual_ok = cost[loc.rows, loc.usual] <= best + tol
    return np.where(usual_ok, loc.usual, np.argmax(cost <= (best + tol)[:, None], axis=1)).astype(np.int64)


class LagrangianDecider(PeriodDecider):
    """Dual decomposition with per-park prices as a model decider.

    ``decider(views, policy=None, *, targets=None) -> {kind: actions}``. The policy is
    ignored: devices start from their usual action (price 0). With ``targets`` the
    prices steer each park (group) toward the given target.

    Args:
        epsilon_kw: Eq. 13 threshold on the summed park-load change between iterations.
        h_m: consecutive stable iterations for convergence.
        max_iterations: hard cap.
        step0: initial step ``alpha_0`` of every park (1 is a full Newton-like step).
        comfort_guard_c: the self-organiser's comfort rule (the scenario's ``aggregation.comfort_guard_c``).

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
        super().__init__(comfort_guard_c=comfort_guard_c)
        self.epsilon_kw = float(epsilon_kw)
        self.h_m = int(h_m)
        self.max_iterations = int(max_iterations)
        self.step0 = float(step0)

    def solve(self, table: PeriodTable) -> Solution:
        """Run the price iterations on one period table; the best primal point is returned."""
        loc = _Local(table)
        target = table.group_target_kw
        n_g = loc.n_groups
        sens = np.maximum(loc.sensitivity_kw, 1e-9)
        movable_group = loc.sensitivity_kw > 1e-9  # a group without movable units keeps price 0
        lam = np.zeros(n_g)
        alpha = np.full(n_g, self.step0)
        act = table.usual.astype(np.int64)
        load = table.group_load_kw(act)
        prev_gap = load - target
        monitor = ConvergenceMonitor(self.epsilon_kw, self.h_m, self.max_iterations, load)
        best_act, best_res, best_it, best_lam = act, float(np.abs(load - target).sum()), 0, lam.copy()
        while not monitor.done:
            act = best_response(table, lam, loc)
            load = np.bincount(loc.park, weights=loc.cand[loc.rows, act], minlength=n_g)
            monitor.update(load)
            res = float(np.abs(load - target).sum())
            if res < best_res:
                best_act, best_res, best_it, best_lam = act, res, monitor.iterations, lam.copy()
            gap = load - target
            # Halve a group's step when its residual changed sign (the price crossed the target).
            alpha = np.where(np.sign(gap) * np.sign(prev_gap) < 0, 0.5 * alpha, alpha)
            prev_gap = gap
            lam = lam + np.where(movable_group, alpha * gap / sens, 0.0)
        info = {
            "prices": best_lam,
            "final_prices": lam.copy(),
            "best_iteration": best_it,
            "deltas_kw": list(monitor.deltas_kw),
        }
        return Solution(best_act, monitor.iterations, monitor.converged, info)

    def summary(self, step: int, dec: PeriodDecision) -> dict:
        return {**super().summary(step, dec), "best_iteration": dec.info["best_iteration"]}

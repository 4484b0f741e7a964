"""Centralised optimum: the period problem as one mixed-integer program solved by HiGHS.

Two formulations of ``min sum_g |L_g - T_g|`` over the objective groups of a
:class:`~aggregation.coalitions.PeriodTable` (the parks, unless the VPP-level
target names groups; ``docs/baselines.md``):

* **naive**: one binary ``x[i, a]`` per unit and action, ``sum_a x[i, a] = 1``,
  unavailable actions fixed to 0, ``|.|`` by two non-negative variables per park;
* **aggregated** (exact): units with identical (group, available-action mask,
  candidate power row) form a class ``c``; integer counts ``n[c, a]`` in
  ``[0, |c|]`` with ``sum_a n[c, a] = |c|``. Units of a class are interchangeable
  in the objective, so any disaggregation of the counts is optimal; ours gives
  the class's units, in row order, the actions in increasing index.

The naive model is the aggregated one with every unit its own class; both are
built by the same vectorised sparse builder.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_matrix

from aggregation.coalitions import PeriodTable

from .common import COMFORT_GUARD_C, PeriodDecider, PeriodDecision, Solution

Formulation = Literal["auto", "naive", "aggregated"]

__all__ = ["MIPDecider", "UnitClasses", "solve_mip", "unit_classes"]


class UnitClasses:
    """Units grouped into classes of identical (objective group, available mask, available powers).

    Attributes:
        of_unit: (n,) class index of each unit.
        size: (C,) units per class.
        park: (C,) objective group of each class (the park unless the target names groups).
        cand_kw: (C, W) float64 action powers (0 where unavailable).
        avail: (C, W) available actions.
    """

    def __init__(self, of_unit: np.ndarray, size: np.ndarray, park: np.ndarray, cand_kw: np.ndarray, avail: np.ndarray):
        self.of_unit, self.size, self.park, self.cand_kw, self.avail = of_unit, size, park, cand_kw, avail

    @property
    def n_classes(self) -> int:
        return len(self.size)


def unit_classes(problem: PeriodTable, aggregate: bool = True) -> UnitClasses:
    """Group the table's units into classes (``aggregate=False``: one class per unit).

    Powers of unavailable actions are ignored (set to 0) so they do not split classes.
    """
    # + 0.0 turns -0.0 into 0.0 (same bytes)
    cand = np.where(problem.avail, problem.cand_kw.astype(np.float64), 0.0) + 0.0
    group = problem.target_group
    if not aggregate or problem.n == 0:
        return UnitClasses(np.arange(problem.n), np.ones(problem.n, np.int64), group, cand, problem.avail)
    mask_bits = (problem.avail * (1 << np.arange(problem.width))).sum(axis=1)
    key = np.column_stack([group.astype(np.float64), mask_bits.astype(np.float64), cand])
    # Rows as opaque bytes: one sort of n fixed-width strings, much faster than np.unique(axis=0).
    rows = np.ascontiguousarray(key).view(np.dtype((np.void, key.dtype.itemsize * key.shape[1]))).ravel()
    _, first, inverse, counts = np.unique(rows, return_index=True, return_inverse=True, return_counts=True)
    return UnitClasses(inverse.reshape(-1), counts, group[first], cand[first], problem.avail[first])


def _disaggregate(classes: UnitClasses, counts: np.ndarray) -> np.ndarray:
    """Per-unit actions from class action counts: within a class, in row order, actions by increasing index."""
    cls = classes.of_unit
    n = len(cls)
    order = np.argsort(cls, kind="stable")
    starts = np.concatenate([[0], np.cumsum(classes.size)[:-1]])
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n) - np.repeat(starts, classes.size)
    cum = np.cumsum(counts, axis=1)  # (C, A): units of the class with action <= a
    return (cum[cls] <= rank[:, None]).sum(axis=1).astype(np.int64)


def solve_mip(
    problem: PeriodTable,
    formulation: Formulation = "auto",
    *,
    naive_max_units: int = 100,
    time_limit_s: float = 60.0,
    mip_rel_gap: float = 1e-4,
    mip_abs_gap_kw: float = 1e-2,
    node_limit: int = 100_000,
) -> tuple[np.ndarray, dict]:
    """Solve the period table's problem to (proven) optimality with HiGHS.

    Args:
        problem: the period table (objective ``sum_g |L_g - T_g|``, see :class:`PeriodTable`).
        formulation: ``naive``, ``aggregated`` or ``auto`` (naive up to ``naive_max_units`` units).
        naive_max_units: size threshold of ``auto``.
        time_limit_s: HiGHS time limit; on hitting it the incumbent is returned and ``info["mip_gap"]`` says
            how far from proven optimal it is.
        mip_rel_gap: relative optimality gap at which HiGHS stops.
        mip_abs_gap_kw: absolute gap (kW of residual) at which HiGHS stops. The objective is a
            subset-sum-like distance whose last watts are expensive to prove; 10 W is far below any
            difference that matters. Passed to HiGHS verbatim (scipy does not list the option).
        node_limit: branch-and-bound node cap. Small populations (tens to hundreds of distinct units) make
            proving the last watts a subset-sum search; HiGHS 1.x also fails with ``vector::reserve`` on
            very long searches (observed after ~2e5 nodes), so the search is capped and, should HiGHS
            still fail, retried once with a tenth of the cap. A node cap is deterministic, a time cap is not.

    Returns:
        (flat actions, info) with info keys ``formulation``, ``n_classes``, ``n_vars``, ``status``,
        ``message``, ``objective_kw``, ``mip_gap`` (relative), ``dual_bound_kw``, ``gap_kw`` (absolute),
        ``nodes``, ``optimal`` (proven within the gaps).
    """
    if formulation == "auto":
        formulation = "naive" if problem.n <= naive_max_units else "aggregated"
    if formulation not in ("naive", "aggregated"):
        raise ValueError(f"formulation must be auto, naive or aggregated, got {formulation!r}")
    classes = unit_classes(problem, aggregate=formulation == "aggregated")
    n_c, n_p = classes.n_classes, problem.n_target_groups
    width = problem.width
    n_x = n_c * width
    # Variables: x (class-major, width per class), then e_plus (n_p), then e_minus (n_p).
    cost = np.concatenate([np.zeros(n_x), np.ones(2 * n_p)])
    ub = np.concatenate([(classes.avail * classes.size[:, None]).ravel().astype(float), np.full(2 * n_p, np.inf)])
    lb = np.zeros(n_x + 2 * n_p)
    integrality = np.concatenate([np.ones(n_x), np.zeros(2 * n_p)])
    var = np.arange(n_x)
    # Rows 0..n_c-1: sum_a x[c, a] = |c|;  rows n_c..n_c+n_p-1: sum p x - e_plus + e_minus = T_g.
    rows = np.concatenate([var // width, n_c + np.repeat(classes.park, width), n_c + np.arange(n_p),
                           n_c + np.arange(n_p)])
    cols = np.concatenate([var, var, n_x + np.arange(n_p), n_x + n_p + np.arange(n_p)])
    vals = np.concatenate([np.ones(n_x), classes.cand_kw.ravel(), -np.ones(n_p), np.ones(n_p)])
    keep = vals != 0
    a_eq = csr_matrix((vals[keep], (rows[keep], cols[keep])), shape=(n_c + n_p, n_x + 2 * n_p))
    rhs = np.concatenate([classes.size.astype(float), problem.group_target_kw])
    options = {
        "node_limit": int(node_limit),
        "time_limit": float(time_limit_s),
        "mip_rel_gap": float(mip_rel_gap),
        "mip_abs_gap": float(mip_abs_gap_kw),
        "disp": False,
    }
    def run(opts: dict):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Unrecognized options detected: {'mip_abs_gap'}")
            return milp(cost, integrality=integrality, bounds=Bounds(lb, ub),
                        constraints=LinearConstraint(a_eq, rhs, rhs), options=opts)

    retried = False
    try:
        res = run(options)
    except ValueError:  # HiGHS internal failure on a long search (see node_limit)
        retried = True
        res = run({**options, "node_limit": max(1, int(node_limit) // 10)})
    info = {
        "formulation": formulation,
        "n_classes": int(n_c),
        "n_vars": int(n_x + 2 * n_p),
        "status": int(res.status),
        "message": str(res.message),
        "objective_kw": float(res.fun) if res.fun is not None else float("nan"),
        "mip_gap": float(getattr(res, "mip_gap", np.nan) if getattr(res, "mip_gap", None) is not None else np.nan),
        "dual_bound_kw": float(res.mip_dual_bound) if getattr(res, "mip_dual_bound", None) is not None else np.nan,
        "nodes": int(getattr(res, "mip_node_count", 0) or 0),
        "gap_kw": float("nan"),
        "optimal": res.status == 0,
        "retried": retried,
    }
    info["gap_kw"] = info["objective_kw"] - info["dual_bound_kw"]
    if res.x is None:  # no incumbent within the time limit: stay with the usual actions
        return problem.usual.astype(np.int64), info
    counts = np.rint(res.x[:n_x]).astype(np.int64).reshape(n_c, width)
    return _disaggregate(classes, counts), info


class MIPDecider(PeriodDecider):
    """Centralised optimum as a model decider: ``decider(views, policy=None, *, targets=None) -> {kind: actions}``.

    The policy is ignored (the optimum does not depend on a start point); with
    ``targets`` the MIP minimises ``sum_g |L_g - T_g|`` to the given targets.

    Args:
        formulation: ``auto`` (naive up to ``naive_max_units`` units, else aggregated), ``naive`` or ``aggregated``.
        naive_max_units: size threshold of ``auto``.
        time_limit_s: HiGHS time limit per period.
        comfort_guard_c: the self-organiser's comfort rule (the scenario's ``aggregation.comfort_guard_c``).
        mip_rel_gap: relative optimality gap at which HiGHS stops.
        mip_abs_gap_kw: absolute optimality gap (kW) at which HiGHS stops.
        node_limit: branch-and-bound node cap (see :func:`solve_mip`).

    Attributes:
        last: the last period's :class:`PeriodDecision`.
        history: one summary dict per decided period.
    """

    name = "mip"

    def __init__(
        self,
        formulation: Formulation = "auto",
        *,
        naive_max_units: int = 100,
        time_limit_s: float = 60.0,
        mip_rel_gap: float = 1e-4,
        mip_abs_gap_kw: float = 1e-2,
        node_limit: int = 100_000,
        comfort_guard_c: float = COMFORT_GUARD_C,
    ):
        super().__init__(comfort_guard_c=comfort_guard_c)
        self.formulation: Formulation = formulation
        self.naive_max_units = int(naive_max_units)
        self.time_limit_s = float(time_limit_s)
        self.mip_rel_gap = float(mip_rel_gap)
        self.mip_abs_gap_kw = float(mip_abs_gap_kw)
        self.node_limit = int(node_limit)

    def solve(self, table: PeriodTable) -> Solution:
        """Build and solve the MIP, disaggregate the counts."""
        act, info = solve_mip(
            table,
            self.formulation,
            naive_max_units=self.naive_max_units,
            time_limit_s=self.time_limit_s,
            mip_rel_gap=self.mip_rel_gap,
            mip_abs_gap_kw=self.mip_abs_gap_kw,
            node_limit=self.node_limit,
        )
        return Solution(act, info["nodes"], info["optimal"], info)

    def summary(self, step: int, dec: PeriodDecision) -> dict:
        return {**super().summary(step, dec), **{k: v for k, v in dec.info.items() if np.isscalar(v)}}

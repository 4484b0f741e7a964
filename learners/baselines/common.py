"""What every optimisation baseline shares: the result type, scoring, and the decider shell.

The period problem itself is :class:`aggregation.coalitions.PeriodTable`, the
table the self-organiser decides on (one table, built by
:func:`aggregation.coalitions.build_table`). Every unit picks one available
action; objective group ``g`` (a park, unless the VPP-level target names
groups) has flexible load and target::

    L_g = sum_{i in g} cand_kw[i, a_i]
    T_g = the given target, else sum_{i in g} (prev_kw[i] + g(t) * p_max_kw[i])

The default ``T_g`` is the self-organiser's coalition target ``L_prev + dL*``
(:meth:`~aggregation.coalitions.PeriodTable.target_kw`) applied to the coalition
of all controllable units of the park. Every method minimises the same
objective, the L1 distance ``sum_g |L_g - T_g|`` (kW,
:meth:`~aggregation.coalitions.PeriodTable.residual_kw`), and is scored by
:func:`evaluate` on it.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple

import numpy as np

from aggregation.coalitions import PeriodTable, TargetsLike, build_table
from aggregation.policy import KindView, Policy
from aggregation.specs import AggregationSpec

# The self-organiser's default comfort rule, read from its settings so that there is one default;
# deciders take the scenario's ``aggregation.comfort_guard_c`` as a constructor argument.
COMFORT_GUARD_C: float = float(AggregationSpec.model_fields["comfort_guard_c"].default)

__all__ = [
    "COMFORT_GUARD_C", "PeriodDecider", "PeriodDecision", "PeriodTable", "Solution", "decision_from_actions",
    "evaluate",
]


@dataclass
class PeriodDecision:
    """What a method decided for one period, scored on the shared objective.

    Attributes:
        method: method name.
        actions: ``kind -> (n_kind,) int64`` actions (all available).
        park_load_kw: (G,) flexible load ``L_g`` of each objective group (the parks unless
            the target names groups), kW.
        target_kw: (G,) target ``T_g``, kW.
        residual_kw: objective ``sum_g |L_g - T_g|`` (kW).
        time_s: the method's own computation (solve / iterations, disaggregation),
            excluding the flattening of the views.
        wall_s: the whole decider call, views included (0 when not measured).
        iterations: iterations (Lagrangian, self-organisation) or branch-and-bound nodes (MIP).
        converged: stopping criterion met (MIP: proven optimal within the gap).
        info: method-specific details (formulation, MIP gap, final prices, ...).
    """

    method: str
    actions: dict[str, np.ndarray]
    park_load_kw: np.ndarray
    target_kw: np.ndarray
    residual_kw: float
    time_s: float
    wall_s: float
    iterations: int
    converged: bool
    info: dict = field(default_factory=dict)


def decision_from_actions(
    table: PeriodTable,
    act: np.ndarray,
    method: str,
    *,
    time_s: float = 0.0,
    wall_s: float = 0.0,
    iterations: int = 0,
    converged: bool = True,
    info: dict | None = None,
) -> PeriodDecision:
    """Score flat actions (unavailable ones replaced by the usual action) into a :class:`PeriodDecision`."""
    act = table.sanitize(act)
    load = table.group_load_kw(act)
    target = table.group_target_kw
    return PeriodDecision(
        method=method,
        actions=table.split(act),
        park_load_kw=load,
        target_kw=target,
        residual_kw=float(np.abs(load - target).sum()),
        time_s=float(time_s),
        wall_s=float(wall_s),
        iterations=int(iterations),
        converged=bool(converged),
        info=dict(info or {}),
    )


def evaluate(
    views: Mapping[str, KindView],
    actions: Mapping[str, np.ndarray],
    *,
    targets: TargetsLike = None,
    comfort_guard_c: float = 0.0,
) -> float:
    """Residual ``sum_g |L_g - T_g|`` (kW) of per-kind actions, scored as the model would execute them.

    Unavailable or out-of-range actions are replaced by the usual action, as
    :meth:`aggregation.model.VppModel.step` does.

    Args:
        views: the period's kind views.
        actions: ``kind -> (n_kind,)`` actions.
        targets: the VPP-level target (None: the default rule).
        comfort_guard_c: the comfort rule applied to ``avail`` (0: none).
    """
    table = build_table(views, comfort_guard_c, targets=targets)
    return table.residual_kw(table.sanitize(table.join(actions)))


class Solution(NamedTuple):
    """What :meth:`PeriodDecider.solve` returns.

    Attributes:
        actions: (N,) flat actions (sanitised by the shell).
        iterations: iterations or branch-and-bound nodes.
        converged: the method's stopping criterion was met.
        info: method-specific details.
    """

    actions: np.ndarray
    iterations: int
    converged: bool
    info: dict


class PeriodDecider(abc.ABC):
    """Shell of an optimisation baseline as a model decider.

    ``decider(views, policy=None, *, targets=None) -> {kind: (n_kind,) int64 actions}``:
    flattens the views into a :class:`PeriodTable` (with the comfort rule and the
    optional VPP-level target), times :meth:`solve`, scores the result into a
    :class:`PeriodDecision` (``last``) and appends a summary to ``history``. The
    policy is ignored (these methods do not need a start point). Subclasses
    implement :meth:`solve` (and may extend :meth:`summary`).

    Args:
        comfort_guard_c: the self-organiser's comfort rule (the scenario's
            ``aggregation.comfort_guard_c``): air conditioners this close (°C) to the
            top of their comfort band may not draw less than their usual action.

    Attributes:
        last: the last period's :class:`PeriodDecision`.
        history: one summary dict per decided period.
    """

    name: ClassVar[str] = "period"

    def __init__(self, *, comfort_guard_c: float = COMFORT_GUARD_C):
        self.comfort_guard_c = float(comfort_guard_c)
        self.last: PeriodDecision | None = None
        self.history: list[dict] = []

    @abc.abstractmethod
    def solve(self, table: PeriodTable) -> Solution:
        """Decide one period on the table (the method's own computation, timed by :meth:`decide`)."""

    def decide(self, table: PeriodTable) -> PeriodDecision:
        """Solve one period table, timed (``time_s``), and score the result."""
        t0 = time.perf_counter()
        sol = self.solve(table)
        elapsed = time.perf_counter() - t0
        return decision_from_actions(
            table, sol.actions, self.name, time_s=elapsed, iterations=sol.iterations, converged=sol.converged,
            info=sol.info,
        )

    def summary(self, step: int, dec: PeriodDecision) -> dict:
        """The ``history`` row of one period."""
        return {
            "step": step,
            "method": dec.method,
            "residual_kw": dec.residual_kw,
            "time_s": dec.time_s,
            "wall_s": dec.wall_s,
            "iterations": dec.iterations,
            "converged": dec.converged,
        }

    def __call__(
        self, views: Mapping[str, KindView], policy: Policy | None = None, *, targets: TargetsLike = None
    ) -> dict[str, np.ndarray]:
        """Decide one period of the model (see the class docstring)."""
        t0 = time.perf_counter()
        table = build_table(views, self.comfort_guard_c, targets=targets)
        dec = self.decide(table)
        dec.wall_s = time.perf_counter() - t0
        self.last = dec
        self.history.append(self.summary(table.step, dec))
        return dec.actions

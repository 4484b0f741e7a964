"""Centralised and distributed baselines of the period decision (issue 6; ``docs/baselines.md``).

Every method solves the same :class:`~aggregation.coalitions.PeriodTable` (the
self-organiser's table; minimise ``sum_p |L_p - T_p|``), returns the same
:class:`~learners.baselines.common.PeriodDecision` and is a model decider
``decider(views, policy=None, *, targets=None) -> {kind: actions}`` built on
:class:`~learners.baselines.common.PeriodDecider`. They are built by name through the
method registry (``learners.registry.make_decider("mip", options)``).
"""

from __future__ import annotations

from .common import PeriodDecider, PeriodDecision, PeriodTable, decision_from_actions, evaluate
from .lagrangian import LagrangianDecider
from .mip import MIPDecider, solve_mip

__all__ = [
    "LagrangianDecider", "MIPDecider", "PeriodDecider", "PeriodDecision", "PeriodTable", "decision_from_actions",
    "evaluate", "solve_mip",
]

"""Centralised and distributed baselines of the period decision (issue 6; ``docs/baselines.md``).

Every method solves the same :class:`~aggregation.coalitions.PeriodTable` (the
self-organiser's table; minimise ``sum_p |L_p - T_p|``), returns the same
:class:`~learners.baselines.common.PeriodDecision` and is a model decider
``decider(views, policy=None, *, targets=None) -> {kind: actions}`` built on
:class:`~learners.baselines.common.PeriodDecider`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .common import PeriodDecider, PeriodDecision, PeriodTable, decision_from_actions, evaluate
from .lagrangian import LagrangianDecider
from .mip import MIPDecider, solve_mip

METHODS: dict[str, type] = {"mip": MIPDecider, "lagrangian": LagrangianDecider}
# Methods whose decider is the plain policy call: the scenario's policy (rule, greedy, qmix) decides alone.
POLICY_METHODS: tuple[str, ...] = ("rule", "greedy", "qmix")

__all__ = [
    "METHODS", "POLICY_METHODS", "LagrangianDecider", "MIPDecider", "PeriodDecider", "PeriodDecision", "PeriodTable",
    "decision_from_actions", "evaluate", "make_method_decider", "solve_mip",
]


def make_method_decider(name: str, **kwargs: Any) -> Callable:
    """The decider of a scenario's ``method``.

    Args:
        name: ``mip`` or ``lagrangian`` (keyword arguments go to the decider class, e.g.
            ``comfort_guard_c=sc.aggregation.comfort_guard_c``);
            ``rule``, ``greedy`` or ``qmix`` (the plain policy call
            :func:`aggregation.model.policy_decider`; the policy itself comes from the scenario);
            ``self_organising`` (needs ``spec=AggregationSpec``, optional ``lam`` and ``seed``).

    Raises:
        ValueError: unknown name.
    """
    if name in METHODS:
        return METHODS[name](**kwargs)
    if name in POLICY_METHODS:
        from aggregation.model import policy_decider

        return policy_decider
    if name == "self_organising":
        from aggregation.hierarchy import make_decider

        return make_decider(kwargs["spec"], kwargs.get("lam", 1.0), kwargs.get("seed"))
    known = sorted([*METHODS, *POLICY_METHODS, "self_organising"])
    raise ValueError(f"unknown method {name!r}; known: {known}")

"""Mesa agents: thin handles over the fleet arrays.

An agent holds only its kind's index into the structure of arrays; every
property reads the arrays, so the model advances all units with vectorised
code (:class:`KindGroup`, stepped through a Mesa ``AgentSet``) while users
still inspect ``model.agents`` and ``model.agents_by_type`` the Mesa way.

Handles are registered through Mesa's public ``Model.register_agent``; they are
built without ``Agent.__init__`` only so that no per-instance ``pos`` is stored
(``create_handles``; ``tests/test_model.py`` checks the result equals Mesa's own
one-by-one path).
"""

from __future__ import annotations

from typing import Any

import mesa


class DERAgent(mesa.Agent):
    """Base handle: ``idx`` indexes the kind's arrays in ``model.fleet``."""

    kind: str = ""
    pos = None  # handles have no space; a class default saves 8 bytes per agent

    @property
    def idx(self) -> int:
        """Row of this unit in its kind's arrays (derived: ids of a kind are contiguous)."""
        return self.unique_id - self.model.handle_offsets[self.kind]

    @property
    def _soa(self):
        return self.model.fleet.units[self.kind]

    @property
    def park(self) -> str:
        return self.model.fleet.park_names[int(self._soa.park[self.idx])]

    @property
    def p_kw(self) -> float:
        """Average power in the last period (kW; PV: output, positive)."""
        return float(self._soa.p_kw[self.idx])

    def step(self) -> None:
        """Handles never step one by one: their kind's :class:`KindGroup` advances the arrays."""


class KindGroup:
    """All units of one device kind, stepped as one by the model's Mesa ``AgentSet``.

    ``model.kind_groups.do("step")`` calls :meth:`step` of each group in the kind
    registry's order; the group runs the kind's vectorised step on the period's
    actions that the model set before (``model.period_actions``).

    Args:
        model: the model.
        kind: a registered :class:`aggregation.kinds.DeviceKind`.
    """

    def __init__(self, model: mesa.Model, kind: Any):
        self.model = model
        self.kind = kind
        self.record_state: dict = kind.init_record(model, model.fleet.units[kind.name])
        self.p_kw = None

    def step(self) -> None:
        m = self.model
        soa = m.fleet.units[self.kind.name]
        self.p_kw = self.kind.step(m, soa, m.period_actions[self.kind.name], m.period_ctx, self.record_state)

    def record(self) -> dict[str, float]:
        m = self.model
        return self.kind.record(m, m.fleet.units[self.kind.name], m.period_ctx, self.record_state)


def create_handles(model: mesa.Model, cls: type[DERAgent], n: int) -> list[DERAgent]:
    """Create ``n`` handles of ``cls`` (indices 0..n-1) and register them with ``model``.

    Equivalent to creating them one by one with ``mesa.Agent.__init__`` (same ids,
    same registration through ``Model.register_agent``) without ``Agent.__init__``'s
    per-instance ``pos`` attribute; ``idx`` is ``unique_id`` minus the
    kind's first id, stored in ``model.handle_offsets``.
    """
    if n == 0:
        return []
    counter = mesa.Agent._ids[model]
    new = object.__new__
    register = model.register_agent
    agents = []
    append = agents.append
    first = None
    for uid in counter:
        # Plain attribute stores keep CPython's inline (dict-free) instance layout.
        a = new(cls)
        a.model = model
        a.unique_id = uid
        register(a)
        append(a)
        if first is None:
            first = uid
        if len(agents) == n:
            break
    if not hasattr(model, "handle_offsets"):
        model.handle_offsets = {}
    model.handle_offsets[cls.kind] = first
    return agents

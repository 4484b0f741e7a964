"""Mesa agents: thin handles over the fleet arrays.

An agent holds only its kind's index into the structure of arrays; every
property reads (or writes) the arrays, so the model can advance all units with
vectorised code while users still inspect ``model.agents`` the Mesa way.

Creating a million agents through ``mesa.Agent.__init__`` costs ~16 s (one
registration and one log record per agent); :func:`create_handles` builds them
in bulk and registers them with the model's agent sets in three dictionary
updates. ``tests/test_model.py`` checks the result equals the one-by-one path.
"""

from __future__ import annotations

import itertools

import mesa
from mesa.agent import AgentSet

from .devices import AC_MODES


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
        return getattr(self.model.fleet, self.kind)

    @property
    def park(self) -> str:
        return self.model.fleet.park_names[int(self._soa.park[self.idx])]

    @property
    def p_kw(self) -> float:
        """Average power in the last period (kW; PV: output, positive)."""
        return float(self._soa.p_kw[self.idx])

    def step(self) -> None:
        """Handles never step one by one: the model advances whole arrays."""


class ACAgent(DERAgent):
    """An air conditioner."""

    kind = "ac"

    @property
    def t_in_c(self) -> float:
        return float(self._soa.t_in_c[self.idx])

    @property
    def mode(self) -> str:
        return AC_MODES[int(self._soa.mode[self.idx])]

    @property
    def activated(self) -> bool:
        return bool(self._soa.activated[self.idx])

    @property
    def p_max_kw(self) -> float:
        return float(self._soa.p_max_kw[self.idx])


class EVAgent(DERAgent):
    """An EV charging pile."""

    kind = "ev"

    @property
    def p_max_kw(self) -> float:
        return float(self._soa.p_max_kw[self.idx])

    @property
    def unmet_kwh(self) -> float:
        """Unmet energy of this pile's sessions that have ended so far."""
        return float(self.model.ev_unmet_by_pile_kwh[self.idx])


class PVAgent(DERAgent):
    """A PV system (not controllable; local renewable energy of its park)."""

    kind = "pv"

    @property
    def capacity_kw(self) -> float:
        return float(self._soa.capacity_kw[self.idx])

    @property
    def p_kw(self) -> float:
        step = max(self.model.steps - 1, 0)
        return float(self.capacity_kw * self.model.fleet.pv_kw_per_kwp[int(self._soa.park[self.idx]), step])


AGENT_CLASSES: dict[str, type[DERAgent]] = {"ac": ACAgent, "ev": EVAgent, "pv": PVAgent}


def create_handles(model: mesa.Model, cls: type[DERAgent], n: int) -> list[DERAgent]:
    """Create ``n`` handles of ``cls`` (indices 0..n-1) and register them with ``model``.

    Equivalent to creating them one by one with ``mesa.Agent.__init__`` but
    without the per-agent registration cost; ``idx`` is ``unique_id`` minus the
    kind's first id, stored in ``model.handle_offsets``. A kind's handles are
    created once per model. Relies on Mesa 3.3's registration tables
    (``_agents``, ``_agents_by_type``, ``_all_agents``), pinned in pyproject.
    """
    if n == 0:
        return []
    counter = mesa.Agent._ids[model]
    first = next(counter)
    # Move the model's id counter past the n ids taken here.
    if n > 1:
        next(itertools.islice(counter, n - 2, None))
    new = object.__new__
    agents = []
    append = agents.append
    # Plain attribute stores keep CPython's inline (dict-free) instance layout;
    # touching ``a.__dict__`` would materialise a dict per agent.
    for uid in range(first, first + n):
        a = new(cls)
        a.model = model
        a.unique_id = uid
        append(a)
    if not hasattr(model, "handle_offsets"):
        model.handle_offsets = {}
    model.handle_offsets[cls.kind] = first
    keys = dict.fromkeys(agents)
    model._agents.update(keys)
    if cls in model._agents_by_type:
        model._agents_by_type[cls]._agents.update(keys)
    else:
        model._agents_by_type[cls] = AgentSet(agents, random=model.random)
    model._all_agents._agents.update(keys)
    return agents

"""Where replicated DER parks sit on a grid: whole replicas on buses, renewable buses first.

An agent count N of a scenario is realised as ``n`` equal *replicas* of the scenario's park set
(each replica is every park of the scenario at the same scale, ``N / n`` agents). A replica is
never split across buses: a bus holds whole replicas. The rule of the bundled scenarios
(``renewable_first``, ``docs/grid.md`` section 6.2) fills the buses of an ordered list, by default
the case's park buses (:data:`grid.data.DEFAULT_PARK_BUSES`: the buses at and next to the wind and
PV plants first), one after the other. A bus takes replicas while their nameplate peak stays within
``max_load_share`` x the bus's own peak base load: the participating DERs are read as *existing*
consumers of the bus, so a bus cannot hold more of them than it has load. Replicas left over when
every listed bus is full are placed round-robin over the list from the first bus, and the placement
says so (``over_capacity``): nothing is smeared evenly over all buses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from grid.cases import GridCase

__all__ = ["Placement", "bus_peak_load_mw", "place_replicas", "replica_count"]


@dataclass(frozen=True)
class Placement:
    """Whole replicas per bus.

    Attributes:
        buses: pandapower buses that hold replicas, in the rule's order.
        replicas: replicas at each bus (same length as ``buses``, all >= 1).
        over_capacity: replicas placed beyond the buses' capacity (0 when everything fitted).
    """

    buses: tuple[int, ...]
    replicas: tuple[int, ...]
    over_capacity: int = 0

    @property
    def n_replicas(self) -> int:
        return int(sum(self.replicas))

    def as_dict(self) -> dict[int, int]:
        return dict(zip(self.buses, self.replicas, strict=True))


def replica_count(n_agents: int, agents_per_replica: int) -> int:
    """Whole replicas needed for ``n_agents``: ``ceil(n_agents / agents_per_replica)`` (0 for none).

    Raises:
        ValueError: negative count or non-positive replica size.
    """
    if n_agents < 0 or agents_per_replica <= 0:
        raise ValueError(f"need n_agents >= 0 and agents_per_replica > 0, got {n_agents}, {agents_per_replica}")
    return math.ceil(n_agents / agents_per_replica)


def bus_peak_load_mw(case: GridCase) -> dict[int, float]:
    """{pandapower bus: peak base load (MW)} of the case's own loads (0 for buses without load)."""
    peak, _ = case.base_load_mw(np.ones(1))
    per_bus = np.zeros(case.n_bus)
    np.add.at(per_bus, case.base_load_bus_position(), peak[0])
    return {int(b): float(p) for b, p in zip(case.bus_index, per_bus, strict=True)}


def place_replicas(
    case: GridCase,
    n_replicas: int,
    replica_peak_mw: float,
    *,
    buses: Sequence[int] | None = None,
    max_load_share: float = 1.0,
) -> Placement:
    """Put ``n_replicas`` whole replicas on buses, filling the listed buses in order.

    Args:
        case: the grid case.
        n_replicas: replicas to place (>= 0).
        replica_peak_mw: nameplate peak of one replica (MW, > 0): base load peaks plus controllable
            maxima, local PV not subtracted (conservative).
        buses: the order of buses; default ``case.park_buses`` (renewable buses first).
        max_load_share: a bus holds ``floor(max_load_share * peak base load / replica_peak_mw)``
            replicas; a bus too small for one replica is skipped.

    Returns:
        :class:`Placement`; replicas beyond all capacities go round-robin from the first listed bus
        and are counted in ``over_capacity``.

    Raises:
        ValueError: negative count, non-positive peak or share, an unknown bus or an empty list.
    """
    if n_replicas < 0 or not replica_peak_mw > 0 or not max_load_share > 0:
        raise ValueError(
            f"need n_replicas >= 0, replica_peak_mw > 0, max_load_share > 0; got {n_replicas}, "
            f"{replica_peak_mw}, {max_load_share}"
        )
    order = [int(b) for b in (case.park_buses if buses is None else buses)]
    if not order:
        raise ValueError(f"case {case.name!r}: no buses to place parks on")
    case.bus_position(order)  # raises on unknown buses
    peaks = bus_peak_load_mw(case)
    cap = [int(math.floor(max_load_share * peaks[b] / replica_peak_mw + 1e-9)) for b in order]
    counts = dict.fromkeys(order, 0)
    left = n_replicas
    for b, c in zip(order, cap, strict=True):
        take = min(c, left)
        counts[b] += take
        left -= take
    over = left
    # Beyond every capacity: whole replicas round-robin from the renewable end of the list.
    if left:
        q, r = divmod(left, len(order))
        for k, b in enumerate(order):
            counts[b] += q + (1 if k < r else 0)
    kept = [(b, n) for b, n in counts.items() if n > 0]
    return Placement(tuple(b for b, _ in kept), tuple(n for _, n in kept), over)

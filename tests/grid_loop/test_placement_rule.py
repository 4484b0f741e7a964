"""Placement: whole replicas on the listed buses in order, each bus up to its own peak load."""

from __future__ import annotations

import pytest

from grid.data import DEFAULT_PARK_BUSES
from grid.placement import bus_peak_load_mw, place_replicas, replica_count
from scenarios.closed_loop import groups_for, replica_peak_mw
from scenarios.errors import ScenarioError


def test_replicas_fill_listed_buses_in_order(fast14):
    sc, case, _, _ = fast14
    peaks = bus_peak_load_mw(case)
    order = list(DEFAULT_PARK_BUSES["case14"])
    rep = 3.0
    caps = [int(peaks[b] // rep) for b in order]
    n = sum(caps[:3]) + 1  # fills the first three buses with room, then one on the next
    pl = place_replicas(case, n, rep)
    assert pl.n_replicas == n and pl.over_capacity == 0
    # buses in the list's order, every bus before the last one full
    assert list(pl.buses) == [b for b, c in zip(order, caps, strict=True) if c > 0][: len(pl.buses)]
    full = dict(zip(order, caps, strict=True))
    assert all(pl.as_dict()[b] == full[b] for b in pl.buses[:-1])
    assert all(isinstance(k, int) and k >= 1 for k in pl.replicas)


def test_over_capacity_goes_round_robin_and_is_reported(fast14):
    _, case, _, _ = fast14
    total_cap = sum(int(p // 3.0) for b, p in bus_peak_load_mw(case).items() if b in case.park_buses)
    pl = place_replicas(case, total_cap + 5, 3.0)
    assert pl.n_replicas == total_cap + 5 and pl.over_capacity == 5
    with pytest.raises(ValueError):
        place_replicas(case, 1, 0.0)
    with pytest.raises(ValueError):
        place_replicas(case, 1, 1.0, buses=[999])


def test_groups_for_agent_counts(fast14):
    sc, case, _, _ = fast14
    assert replica_count(0, 560) == 0 and replica_count(56, 560) == 1 and replica_count(5600, 560) == 10
    g56, _ = groups_for(sc, case, 56)
    assert len(g56) == 1 and g56[0].bus == DEFAULT_PARK_BUSES["case14"][0] and g56[0].scale == pytest.approx(0.1)
    groups, pl = groups_for(sc, case, 5600)
    assert sum(g.replicas for g in groups) == 10 and pl.n_replicas == 10
    assert [g.bus for g in groups] == list(DEFAULT_PARK_BUSES["case14"][: len(groups)])
    # whole replicas: every group's scale is its replica count (scale 1 each at 5,600 agents)
    assert all(g.scale == pytest.approx(g.replicas) for g in groups)
    # the capacity rule holds: replicas' nameplate peak within each bus's peak load
    peaks = bus_peak_load_mw(case)
    assert all(g.replicas * replica_peak_mw(sc, 1.0) <= peaks[g.bus] + 1e-9 for g in groups)


def test_park_bus_rule(fast14):
    sc, case, _, _ = fast14
    parks = [p.model_copy(update={"bus": b}) for p, b in zip(sc.parks, (13, 13, 8), strict=True)]
    grid = sc.grid.model_copy(update={"placement": sc.grid.placement.model_copy(update={"rule": "park_bus"})})
    sc2 = sc.model_copy(update={"parks": parks, "grid": grid})
    groups, pl = groups_for(sc2, case, 1120)
    assert pl is None and {g.bus: len(g.parks) for g in groups} == {13: 2, 8: 1}
    assert all(g.scale == pytest.approx(2.0) for g in groups)
    with pytest.raises(ScenarioError):
        groups_for(sc.model_copy(update={"grid": grid}), case, 560)


@pytest.mark.parametrize(
    "bad",
    [
        {"closed_loop": {"damping": float("inf")}},
        {"closed_loop": {"tolerance_mw": float("nan")}},
        {"closed_loop": {"max_iterations": 0}},
        {"placement": {"max_load_share": float("nan")}},
        {"placement": {"buses": [3, 3]}},
        {"placement": {"rule": "even"}},
        {"case": "case57"},
    ],
)
def test_grid_block_rejects_bad_values(bad):
    from pydantic import ValidationError

    from scenarios.base import GridSpec

    with pytest.raises(ValidationError):
        GridSpec(**bad)

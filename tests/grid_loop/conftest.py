"""A fast case14 scenario for the grid-in-the-loop tests: greedy DERs (no QMIX), nodal index, closed loop."""

from __future__ import annotations

import pytest

from scenarios.build import controlled_for, weather_for
from scenarios.gridcase import case_for
from scenarios.schema import load


@pytest.fixture(scope="session")
def fast14():
    """(scenario, case, weather, controlled) of ieee14_uptake with the greedy policy and no AC check."""
    sc = load("ieee14_uptake", {"policy": {"kind": "greedy"}, "aggregation": {"enabled": False}})
    sc = sc.model_copy(update={"grid": sc.grid.model_copy(update={"ac_check": False})})
    assert sc.system_index.source == "grid_nodal" and sc.grid.closed_loop.enabled
    return sc, case_for(sc), weather_for(sc), (lambda: controlled_for(sc))

"""Fixtures of the aggregation tests: hand-made period tables and small organisers."""

from __future__ import annotations

import numpy as np
import pytest

from aggregation.coalitions import PeriodTable
from aggregation.hierarchy import SelfOrganiser
from aggregation.specs import AggregationSpec


def _table_of(
    powers: list[list[float]],
    prev_kw: list[float],
    p_max_kw: list[float] | None = None,
    *,
    g: float = 0.0,
    gamma: float = 1.0,
    park: list[int] | None = None,
    step: int = 0,
) -> PeriodTable:
    """A table whose unit ``i`` may draw any power in ``powers[i]`` (one action per value)."""
    width = max(len(p) for p in powers)
    cand = np.zeros((len(powers), width))
    avail = np.zeros((len(powers), width), bool)
    for i, row in enumerate(powers):
        cand[i, : len(row)] = row
        avail[i, : len(row)] = True
    p_max = np.ones(len(powers)) if p_max_kw is None else np.asarray(p_max_kw, float)
    return PeriodTable.from_arrays(cand, avail, prev_kw, p_max, g=g, gamma=gamma, park=park, step=step)


def _closest_actions(table: PeriodTable) -> np.ndarray:
    """Each unit's own best action: the available power closest to its own target (greedy, alone)."""
    target = table.target_kw(table.prev_kw, table.p_max_kw)
    gap = np.where(table.avail, np.abs(table.cand_kw - target[:, None]), np.inf)
    return np.argmin(gap, axis=1).astype(np.int8)


def _organiser(rule: str = "rule3", levels: int = 1, **kw) -> SelfOrganiser:
    spec = AggregationSpec(
        enabled=True, max_levels=levels, rules=[rule] * levels, group_size=2, proposal_jitter=0.0, **kw
    )
    return SelfOrganiser(spec, lam=1.0)


@pytest.fixture
def table_of():
    return _table_of


@pytest.fixture
def closest_actions():
    return _closest_actions


@pytest.fixture
def organiser():
    return _organiser

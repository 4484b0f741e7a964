"""The uptake sweep's faster paths give the old results: worker processes vs serial, no organiser records."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from aggregation.hierarchy import SelfOrganiser
from scenarios.build import build_model, controlled_for
from scenarios.closed_loop import GroupPool, _group_scenario, bus_signals, groups_for, run_controlled
from scenarios.gridcase import base_dispatch
from scenarios.uptake import sweep_rows

WALL = {"simulation_s"}


@pytest.fixture(scope="module")
def organised14(fast14):
    """fast14 with the self-organising hierarchy on (greedy start actions: no torch) and a picklable factory."""
    sc, case, weather, _ = fast14
    sc = sc.model_copy(update={"aggregation": sc.aggregation.model_copy(update={"enabled": True})})
    return sc, case, weather, functools.partial(controlled_for, sc)


def _same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a.keys() - WALL:
        x, y = a[k], b[k]
        if isinstance(x, float) and np.isnan(x):
            assert isinstance(y, float) and np.isnan(y), k
        else:
            assert x == y, (k, x, y)


def test_worker_processes_give_the_serial_rows(organised14):
    sc, case, weather, controlled = organised14
    base = base_dispatch(sc)
    assert len(groups_for(sc, case, 2240)[0]) >= 2
    serial = sweep_rows(sc, 2240, case, base, weather=weather, controlled=controlled)
    with GroupPool(workers=2, min_ders=0) as pool:
        par = sweep_rows(sc, 2240, case, base, weather=weather, controlled=controlled, pool=pool)
        assert pool._ex is not None  # the processes ran the group days
    assert len(serial) == len(par) == 3
    for a, b in zip(serial, par, strict=True):
        _same(a, b)


def test_pool_runs_unpicklable_calls_here(organised14):
    sc, case, weather, controlled = organised14
    groups, _ = groups_for(sc, case, 2240)
    sigs = bus_signals(sc, case, base_dispatch(sc), [g.bus for g in groups])
    lam = lambda: controlled()  # noqa: E731 - a lambda does not pickle
    with GroupPool(workers=2, min_ders=0) as pool:
        out = pool.map(run_controlled, [(sc, g, weather, sigs[g.bus], lam) for g in groups], [1.0] * len(groups))
        assert pool._ex is None
    ref = [run_controlled(sc, g, weather, sigs[g.bus], controlled) for g in groups]
    assert all(np.array_equal(a, b) for a, b in zip(out, ref, strict=True))


def test_organiser_without_records_decides_the_same(organised14):
    sc, case, weather, controlled = organised14
    (g, *_), _ = groups_for(sc, case, 2240)
    sig = bus_signals(sc, case, base_dispatch(sc), [g.bus])[g.bus]
    runs = []
    for records in (True, False):
        policy, decider = controlled()
        assert isinstance(decider, SelfOrganiser)
        decider.records = records
        m = build_model(_group_scenario(sc, g), policy, decider, handles=False, weather=weather, signal=sig)
        m.run()
        runs.append((m.system_series(), decider))
    (a, with_rec), (b, without) = runs
    assert a.drop(columns=["time"]).equals(b.drop(columns=["time"]))
    assert len(with_rec.periods) == sc.n_steps and not without.periods and not without.snapshots

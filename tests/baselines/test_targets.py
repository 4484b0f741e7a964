"""The baselines with a given VPP-level target: ``decider(views, policy, targets=...)``."""

from __future__ import annotations

import numpy as np
import pytest

from aggregation.coalitions import PeriodTable, build_table
from aggregation.policy import GreedyFitnessPolicy, RulePolicy
from learners.baselines import LagrangianDecider, MIPDecider, evaluate, solve_mip


@pytest.fixture(scope="module")
def small_model():
    from benchmarks.table2 import quantised_scenario
    from scenarios.runner import build_model

    sc = quantised_scenario(56, levels=4)
    model = build_model(sc, RulePolicy(), handles=False)
    model.run(10)
    return sc, model


def test_no_target_decides_as_the_two_argument_call(small_model):
    _, model = small_model
    ctx = model.context(10)
    for make in (lambda: MIPDecider(node_limit=2000), LagrangianDecider):
        a = make()(model.views(ctx), None)
        b = make()(model.views(ctx), None, targets=None)
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
    # The default rule given explicitly is the same problem.
    table = build_table(model.views(ctx), 0.5)
    c = MIPDecider(node_limit=2000)(model.views(ctx), None)
    d = MIPDecider(node_limit=2000)(model.views(ctx), None, targets=table.group_target_kw)
    for k in c:
        np.testing.assert_array_equal(c[k], d[k])


def test_mip_reaches_a_feasible_park_target(small_model):
    _, model = small_model
    ctx = model.context(10)
    table = build_table(model.views(ctx), 0.5)
    # A target the fleet can meet exactly: the park loads of the greedy policy's actions.
    pol = GreedyFitnessPolicy()
    feasible = table.park_load_kw(table.sanitize(table.join({k: pol.act(v) for k, v in model.views(ctx).items()})))
    assert np.abs(feasible - table.group_target_kw).sum() > 1.0  # not the default target
    dec = MIPDecider(node_limit=5000)
    acts = dec(model.views(ctx), None, targets=feasible)
    assert dec.last.residual_kw <= 0.05
    np.testing.assert_allclose(dec.last.target_kw, feasible)
    assert evaluate(model.views(ctx), acts, targets=feasible, comfort_guard_c=0.5) == pytest.approx(dec.last.residual_kw)
    lag = LagrangianDecider()
    lag(model.views(ctx), None, targets=feasible)
    usual = float(np.abs(table.park_load_kw(table.usual) - feasible).sum())
    assert lag.last.residual_kw < usual


def test_group_targets_per_top_level_aggregator():
    # Two groups that straddle the parks: the MIP meets each group's target.
    cand = np.tile([0.0, 1.0, 2.0], (6, 1))
    table = PeriodTable.from_arrays(cand, np.ones((6, 3), bool), np.zeros(6), np.full(6, 2.0), g=0.0,
                                    park=[0, 0, 0, 1, 1, 1],
                                    targets={"group": [0, 1, 0, 1, 0, 1], "group_kw": [5.0, 2.0]})
    act, info = solve_mip(table, "naive", mip_rel_gap=1e-9, mip_abs_gap_kw=1e-9)
    assert info["optimal"]
    np.testing.assert_allclose(table.group_load_kw(act), [5.0, 2.0])
    assert table.residual_kw(act) == pytest.approx(0.0)

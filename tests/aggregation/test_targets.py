"""The target seam: an optional VPP-level target per park, per group of DERs or per DER."""

from __future__ import annotations

import numpy as np
import pytest

from aggregation.coalitions import PeriodTable, Targets, build_table
from aggregation.hierarchy import make_decider
from aggregation.policy import GreedyFitnessPolicy


@pytest.fixture(scope="module")
def period():
    """A real period (10:00, three parks at scale 0.2) and the scenario."""
    from scenarios.runner import build_model
    from scenarios.schema import load

    sc = load("three_parks_560").model_copy(update={"scale": 0.2})
    m = build_model(sc, handles=False)
    m.run(10)
    return sc, m, m.context(10)


def _organiser(sc):
    return make_decider(sc.aggregation.model_copy(update={"enabled": True}), sc.fitness.similarity_lambda)


def test_default_target_rule_lives_in_the_table():
    t = PeriodTable.from_arrays([[0.0, 1.0], [0.0, 2.0]], np.ones((2, 2), bool), [0.5, 1.0], [1.0, 2.0],
                                g=0.25, park=[0, 1])
    np.testing.assert_allclose(t.target_kw(t.prev_kw, t.p_max_kw), [0.75, 1.5])
    np.testing.assert_allclose(t.group_target_kw, [0.75, 1.5])
    assert t.top_shift_kw is None and t.der_target_kw is None
    np.testing.assert_array_equal(t.target_group, t.park)


def test_targets_are_coerced_and_checked():
    assert Targets.coerce(None) is None
    assert Targets.coerce([1.0, 2.0]).park_kw.tolist() == [1.0, 2.0]
    t = Targets.coerce({"group": [0, 0, 1], "group_kw": [1.0, 2.0]})
    assert t.group.tolist() == [0, 0, 1]
    with pytest.raises(ValueError):
        Targets(park_kw=np.zeros(2), group=np.zeros(3, int), group_kw=np.zeros(1))
    with pytest.raises(ValueError):
        Targets(group=np.zeros(3, int))
    with pytest.raises(ValueError):  # one park target per park
        PeriodTable.from_arrays([[0.0, 1.0]], [[True, True]], [0.0], [1.0], g=0.0, targets=[1.0, 2.0])


def test_park_target_shifts_the_top_level_by_rating_share():
    cand = np.tile([0.0, 1.0, 2.0], (4, 1))
    t = PeriodTable.from_arrays(cand, np.ones((4, 3), bool), np.ones(4), [1.0, 3.0, 2.0, 2.0], g=0.0,
                                park=[0, 0, 1, 1], targets=[6.0, 2.0])
    shift = t.top_shift_kw
    # park 0: own targets sum to 2 kW, target 6 -> +4 kW shared 1:3; park 1: 2 -> 2, no shift.
    np.testing.assert_allclose(shift, [1.0, 3.0, 0.0, 0.0])
    np.testing.assert_allclose(np.bincount(t.park, weights=t.target_kw(t.prev_kw, t.p_max_kw) + shift), [6.0, 2.0])


def test_kind_generic_rows_and_width(period):
    _, m, ctx = period
    views = m.views(ctx)
    t = build_table(views, 0.5)
    assert t.kinds == tuple(views)  # rows follow the views' order
    assert t.width == max(v.n_actions for v in views.values())
    for j, kind in enumerate(t.kinds):
        assert (t.kind_index[t.rows_of(kind)] == j).all()
        a, b = t.bounds[kind]
        np.testing.assert_array_equal(t.no_shed[a:b], views[kind].no_shed(0.5))
    assert not build_table(views, 0.0).no_shed.any()


def test_organiser_without_target_decides_as_before(period):
    sc, m, ctx = period
    pol = GreedyFitnessPolicy()
    a = _organiser(sc)(m.views(ctx), pol)
    b = _organiser(sc)(m.views(ctx), pol, targets=None)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


@pytest.mark.parametrize("delta", [0.1, -0.1])
def test_organiser_moves_the_park_load_toward_a_given_target(period, delta):
    sc, m, ctx = period
    pol = GreedyFitnessPolicy()
    t = build_table(m.views(ctx), sc.aggregation.comfort_guard_c)
    start = t.park_load_kw(t.sanitize(t.join({k: pol.act(v) for k, v in m.views(ctx).items()})))
    target = start + delta * np.bincount(t.park, weights=t.p_max_kw, minlength=t.n_parks)
    free = t.park_load_kw(t.join(_organiser(sc)(m.views(ctx), pol)))
    org = _organiser(sc)
    steered = t.park_load_kw(t.join(org(m.views(ctx), pol, targets=target)))
    assert np.abs(steered - target).sum() < 0.8 * np.abs(free - target).sum()
    assert org.periods[-1]["load_final_kw"] == pytest.approx(steered.sum())


def test_per_der_targets_replace_the_rule_at_every_level(table_of, organiser):
    # Two units that each want to rise by 1 kW under the default rule (g = 0.5, rating 2) ...
    t = table_of([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]], [1.0, 1.0], [2.0, 2.0], g=0.5)
    np.testing.assert_allclose(t.group_target_kw, [4.0])
    # ... told instead to hold 0 and 2 kW: the pair's target is their sum, 2 kW.
    given = PeriodTable.from_arrays(t.cand_kw, t.avail, t.prev_kw, t.p_max_kw, g=0.5,
                                    targets=Targets(der_kw=np.array([0.0, 2.0])))
    np.testing.assert_allclose(given.group_target_kw, [2.0])
    assert given.top_shift_kw is None
    org = organiser("rule1", levels=1)
    act = org.organise(given, np.array([2, 2], np.int8)).actions  # both start at 2 kW: 4 kW, 2 kW too much
    assert given.power_kw(act).sum() == pytest.approx(2.0)
    assert org.organise(t, np.array([2, 2], np.int8)).actions.tolist() == [2, 2]  # the default rule is met

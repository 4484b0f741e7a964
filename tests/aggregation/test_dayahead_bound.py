"""Day-ahead tracking bound (issue 11): feasible, no worse than uncontrolled, device rules kept."""

from __future__ import annotations

import numpy as np
import pytest

from aggregation.dayahead_bound import bound_inputs, dayahead_bound, simulate, solve
from aggregation.indices import shape_distance
from aggregation.level_fitness import CUSTOM_RULE, level_tracking, plan_level_targets, uses_level_tracking
from aggregation.specs import AggregationSpec

pytest.importorskip("highspy")


@pytest.fixture(scope="module")
def tiny_model():
    from scenarios.build import build_model
    from scenarios.schema import load

    sc = load("three_parks_560").model_copy(update={"scale": 0.05})  # ~28 DERs
    return build_model(sc, handles=False)


@pytest.fixture(scope="module")
def inputs(tiny_model):
    return bound_inputs(tiny_model)


def test_uncontrolled_replay_matches_the_model(inputs):
    rep = simulate(inputs, inputs.unc_ac_kw, inputs.unc_ev_kw * inputs.dt_h)
    np.testing.assert_allclose(rep["comfort_c"], inputs.unc_comfort_c, atol=1e-4)
    assert rep["ev_short_kwh"] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("target", ["net", "flexible"])
def test_bound_is_feasible_no_worse_than_uncontrolled_and_keeps_device_rules(inputs, target):
    sol = solve(inputs, target)
    unc = inputs.unc_net_kw if target == "net" else inputs.unc_flex_kw
    assert sol.distance <= shape_distance(unc, inputs.eta) + 1e-9
    assert sol.distance == pytest.approx(shape_distance(sol.load_kw, inputs.eta))
    # Powers within each period's relaxed mode range, EV energy within what the plug allows.
    assert (sol.ac_kw >= inputs.ac_lo - 1e-6).all() and (sol.ac_kw <= inputs.ac_hi + 1e-6).all()
    assert (sol.ev_kwh >= -1e-6).all() and (sol.ev_kwh <= inputs.ev_cap_kwh + 1e-6).all()
    rep = simulate(inputs, sol.ac_kw, sol.ev_kwh)
    assert rep["comfort_mean_c"] <= inputs.unc_comfort_c.mean() + 1e-5  # comfort no worse
    assert rep["ev_short_kwh"] <= 1e-4  # every session gets its energy by departure


def test_dayahead_bound_dict_and_level_plan(tiny_model):
    out = dayahead_bound(tiny_model)
    assert out["bound_tracking_distance"] <= out["bound_uncontrolled_distance"] + 1e-9
    assert out["bound_tracking_distance_flexible"] <= out["bound_uncontrolled_distance_flexible"] + 1e-9
    plan = plan_level_targets(tiny_model)
    assert plan.shape == (tiny_model.fleet.n_parks, tiny_model.n_steps)
    assert np.isfinite(plan).all() and (plan >= -1e-6).all()


def test_level_tracking_statistic_hand_case():
    # Coalition 0: fitness 0.5 on 1 kW and 1.0 on 3 kW -> (0.5 + 3) / 4; coalition 1: one member.
    mu = np.array([0.5, 1.0, 0.2])
    out = level_tracking(mu, np.array([0, 0, 1]), 2, np.array([1.0, 3.0, 2.0]))
    np.testing.assert_allclose(out, [0.875, 0.2])
    spec = AggregationSpec(enabled=True, rules=["rule3"] * 4 + ["rule4"], custom_rule=CUSTOM_RULE)
    assert uses_level_tracking(spec)
    assert not uses_level_tracking(AggregationSpec(enabled=True))

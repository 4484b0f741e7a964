"""Rules 1-4 (seed 003 Eqs. 8-11) on hand-made two-agent cases, and custom-rule resolution."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from aggregation.rules import capacity_weighted_mean, resolve_custom, rule_holds, seg_max, seg_mean, seg_min
from aggregation.specs import AggregationSpec

E = np.exp


def merged(org) -> bool:
    lab = org.labels[0]
    return bool(lab[0] == lab[1])


@pytest.fixture
def run_pair(organiser, closest_actions):
    def run(rule: str, table, **kw):
        org = organiser(rule, **kw)
        return org, org.organise(table, closest_actions(table))

    return run


# Complementary pair: A cannot come down to its target (1.2 > 1.0), B cannot come up
# (0.8 < 1.0). Together they hit the coalition target exactly: fitness 1 > e^-0.2 each.
COMPLEMENTARY = dict(powers=[[1.2, 1.5], [0.5, 0.8]], prev_kw=[1.0, 1.0])
# A sits on its own target (fitness 1); B is forced 0.4 kW above its own. In a
# coalition A sheds 0.4 kW and the coalition hits its target: fitness 1, which is
# not above A's 1 (Rule 2 fails) but above the pair's min and mean.
COMPENSATING = dict(powers=[[0.6, 1.0], [0.9]], prev_kw=[1.0, 0.5])
# No flexibility: A on target (1), B 1 kW above its target (e^-1); together e^-0.5,
# above the min (Rule 1 holds) but below the mean (0.684) and the max.
RIGID = dict(powers=[[1.0], [1.0]], prev_kw=[1.0, 0.0])
# Same-sign misses: the coalition's relative miss equals each member's, nothing improves.
SAME_SIGN = dict(powers=[[1.2], [1.2]], prev_kw=[1.0, 1.0])


@pytest.mark.parametrize(
    ("case", "rule", "expect"),
    [
        (COMPLEMENTARY, "rule1", True),
        (COMPLEMENTARY, "rule2", True),
        (COMPLEMENTARY, "rule3", True),
        (COMPENSATING, "rule1", True),
        (COMPENSATING, "rule2", False),
        (COMPENSATING, "rule3", True),
        (RIGID, "rule1", True),
        (RIGID, "rule2", False),
        (RIGID, "rule3", False),
        (SAME_SIGN, "rule1", False),
        (SAME_SIGN, "rule2", False),
        (SAME_SIGN, "rule3", False),
    ],
)
def test_two_agent_merge_decisions(run_pair, table_of, case, rule, expect):
    org, res = run_pair(rule, table_of(**case))
    assert merged(org) is expect
    assert res.merges == int(expect)


def test_compensating_member_moves_inside_the_coalition(run_pair, table_of):
    t = table_of(**COMPENSATING)
    org, res = run_pair("rule3", t)
    assert merged(org)
    # A left its own best action (1.0 kW) for 0.6 kW so that the pair meets its target.
    assert res.actions[0] == 0 and res.start_actions[0] == 1
    assert t.power_kw(res.actions).sum() == pytest.approx(1.5)


def test_rejected_coalition_leaves_actions_untouched(run_pair, table_of):
    t = table_of(**COMPENSATING)
    org, res = run_pair("rule2", t)
    assert not merged(org)
    np.testing.assert_array_equal(res.actions, res.start_actions)


def test_no_merge_without_incentive_when_gamma_is_zero(run_pair, table_of):
    org, res = run_pair("rule1", table_of(**COMPLEMENTARY, gamma=0.0))
    assert not merged(org) and res.merges == 0


def test_rule_statistics_match_equations_8_to_10():
    mu = np.array([0.2, 0.6, 0.5, 0.9])
    grp = np.array([0, 0, 1, 1])
    w = np.ones(4)
    np.testing.assert_allclose(seg_min(mu, grp, 2, w), [0.2, 0.5])
    np.testing.assert_allclose(seg_max(mu, grp, 2, w), [0.6, 0.9])
    np.testing.assert_allclose(seg_mean(mu, grp, 2, w), [0.4, 0.7])
    after = np.array([0.55, 0.55, 0.8, 0.8])
    # min: 0.2 < 0.55 yes, 0.5 < 0.8 yes; max: 0.6 < 0.55 no, 0.9 < 0.8 no; mean: 0.4 < 0.55 yes, 0.7 < 0.8 yes
    assert rule_holds(seg_min, mu, grp, 2, after, w).tolist() == [True, True]
    assert rule_holds(seg_max, mu, grp, 2, after, w).tolist() == [False, False]
    assert rule_holds(seg_mean, mu, grp, 2, after, w).tolist() == [True, True]


def test_rule_is_strict_and_needs_two_members():
    mu = np.array([0.5, 0.5, 0.3])
    grp = np.array([0, 0, 1])
    same = rule_holds(seg_mean, mu, grp, 2, mu.copy(), np.ones(3))
    assert same.tolist() == [False, False]  # equal is not an improvement; a singleton never "merges"


# Rule 4 with the bundled capacity-weighted mean: A is big (3 kW) and on target,
# B small and 1 kW off. Coalition fitness e^-0.25 = 0.779 beats the plain mean
# (0.684, Rule 3 merges) but not the rating-weighted mean (0.842).
WEIGHTED = dict(powers=[[1.0], [1.0]], prev_kw=[1.0, 0.0], p_max_kw=[3.0, 1.0])


def test_rule4_custom_statistic_changes_the_decision(run_pair, table_of):
    org3, _ = run_pair("rule3", table_of(**WEIGHTED))
    org4, _ = run_pair("rule4", table_of(**WEIGHTED), custom_rule="aggregation.rules:capacity_weighted_mean")
    assert merged(org3) and not merged(org4)
    assert org4.statistics[0] is capacity_weighted_mean


def test_rule4_resolves_any_importable_function(run_pair, table_of, monkeypatch):
    mod = types.ModuleType("vpp_test_custom_rules")
    calls = []

    def worst_member(mu, group, n_groups, weight_kw):
        calls.append(len(mu))
        return seg_min(mu, group, n_groups, weight_kw)

    mod.worst_member = worst_member
    mod.not_callable = 3
    monkeypatch.setitem(sys.modules, "vpp_test_custom_rules", mod)
    org, _ = run_pair("rule4", table_of(**RIGID), custom_rule="vpp_test_custom_rules:worst_member")
    assert merged(org) and calls  # behaves as Rule 1 here, and was really called
    with pytest.raises(ValueError, match="not callable"):
        resolve_custom("vpp_test_custom_rules:not_callable")
    with pytest.raises(ValueError, match="no attribute"):
        resolve_custom("vpp_test_custom_rules:missing")
    with pytest.raises(ValueError, match="cannot import"):
        resolve_custom("no_such_module_for_vppsim:fn")
    with pytest.raises(ValueError, match="must look like"):
        resolve_custom("__import__('os').system('true')")


def test_spec_rejects_rule4_without_custom_rule_and_short_rule_lists():
    with pytest.raises(ValueError, match="rule4 needs custom_rule"):
        AggregationSpec(max_levels=1, rules=["rule4"])
    with pytest.raises(ValueError, match="one per level"):
        AggregationSpec(max_levels=3, rules=["rule3", "rule3"])
    with pytest.raises(ValueError):
        AggregationSpec(custom_rule="os.system('x')")

"""Table 2 quality (issue 11): self-organisation's gap to the MIP optimum on the 56-agent case.

Measured on the benchmark's own problem (``benchmarks/table2.py``: quantised three-parks population,
advanced uncontrolled to 10:00). The park-VPP top level, the comfort floor at the usual power and the
VPP's exchange moves must close the gap; the pre-issue-11 top level (groups of ``group_size`` at every
level, ``park_vpp = False``) is measured beside it on the same state.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("scipy")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from table2 import quantised_scenario, self_org_policy  # noqa: E402

from aggregation.coalitions import build_table  # noqa: E402
from aggregation.hierarchy import make_decider  # noqa: E402
from aggregation.policy import RulePolicy  # noqa: E402
from learners.baselines import MIPDecider  # noqa: E402
from scenarios.build import build_model  # noqa: E402


def _gap_pct(table, act, usual, opt) -> float:
    return 100.0 - 100.0 * (usual - table.residual_kw(act)) / (usual - opt)


@pytest.mark.parametrize("n_agents", [56])
def test_self_organisation_gap_to_the_optimum_is_small_and_shrinks(n_agents):
    sc = quantised_scenario(n_agents)
    model = build_model(sc, RulePolicy(), handles=False)
    model.run(10)
    ctx = model.context(10)
    guard = sc.aggregation.comfort_guard_c
    table = build_table(model.views(ctx), guard)
    mip = MIPDecider(comfort_guard_c=guard, time_limit_s=30)
    mip(model.views(ctx), None)
    usual, opt = table.residual_kw(table.usual), mip.last.residual_kw
    assert usual - opt > 1.0  # there is something to gain (kW)
    policy, _ = self_org_policy()
    gaps = {}
    for park_vpp in (True, False):
        org = make_decider(sc.aggregation, sc.fitness.similarity_lambda)
        org.park_vpp = park_vpp
        act = table.join(org(model.views(ctx), policy))
        assert np.isfinite(table.residual_kw(act))
        gaps[park_vpp] = _gap_pct(table, act, usual, opt)
    # Measured 0.0 % (new) and 4.8 % (old top level) on this state; 2 points of margin below the goal.
    assert gaps[True] <= 3.0
    assert gaps[True] < gaps[False] - 2.0

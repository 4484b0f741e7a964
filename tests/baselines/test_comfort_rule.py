"""Every method solves the same problem: the self-organiser's comfort rule binds the baselines too."""

import numpy as np

from aggregation.coalitions import build_table
from learners.baselines import LagrangianDecider, MIPDecider
from scenarios.runner import build_model
from scenarios.schema import load


def _views_at_10():
    sc = load("three_parks_560").model_copy(update={"scale": 0.2})
    m = build_model(sc, handles=False)
    m.run(10)
    return m, m.views(m.context(10))


def test_guarded_air_conditioners_never_shed_below_their_usual_power():
    m, views = _views_at_10()
    f = m.fleet.ac
    guarded = f.t_in_c >= f.comfort_high_c - 0.5
    assert guarded.any() and (~guarded).any()
    cand = views["ac"].candidate_p_kw
    usual_kw = cand[np.arange(len(f)), views["ac"].usual]
    for decider in (MIPDecider(comfort_guard_c=0.5), LagrangianDecider(comfort_guard_c=0.5)):
        acts = decider(m.views(m.context(10)), None)["ac"]
        chosen_kw = cand[np.arange(len(f)), acts]
        assert (chosen_kw[guarded] >= usual_kw[guarded] - 1e-6).all()


def test_guard_only_removes_options():
    _, views = _views_at_10()
    free = build_table(views, 0.0)
    ruled = build_table(views, 0.5)
    assert (ruled.avail <= free.avail).all() and ruled.avail.sum() < free.avail.sum()
    assert ruled.avail[np.arange(len(ruled.usual)), ruled.usual].all()

"""Recipe "add a learner / method": one class plus one registry call, nothing else.

A new method touches only its own module and one ``register(MethodEntry(...))``
line (in ``learners/registry.py``'s table, or a plugin's import). Here the class
lives in this test and is registered through the public API; the scenario then
names it in ``method:`` and the pipeline runs it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import learners
from scenarios.runner import run_scenario
from scenarios.schema import load


class AlwaysUsual:
    """A policy that does what each unit's user would do (so it must reproduce the baseline)."""

    name = "always_usual"
    calls = 0

    def act(self, view):
        AlwaysUsual.calls += 1
        return view.usual


class UsualDecider:
    """A period decider that returns every kind's usual actions (targets ignored)."""

    calls = 0

    def __call__(self, views, policy, targets=None):
        UsualDecider.calls += 1
        return {kind: np.asarray(view.usual) for kind, view in views.items()}


@pytest.fixture
def registered():
    entries = [learners.MethodEntry("always_usual", "test dummy: usual actions", policy=AlwaysUsual),
               learners.MethodEntry("usual_decider", "test dummy decider", decider=UsualDecider)]
    for e in entries:
        learners.register(e)
    yield
    for e in entries:
        learners.unregister(e.name)


@pytest.mark.parametrize("method", ["always_usual", "usual_decider"])
def test_a_registered_method_runs_through_a_scenario(registered, method, tmp_path):
    counter = AlwaysUsual if method == "always_usual" else UsualDecider
    counter.calls = 0
    assert method in learners.names()
    sc = load("three_parks_560", {"scale": 0.1, "method": method})  # validated against the registry
    out = run_scenario(sc, tmp_path, max_steps=2, progress=False, plots=False)
    assert counter.calls > 0  # the pipeline used the new method
    base, ctrl = out.models["baseline"], out.models["controlled"]
    pd.testing.assert_frame_equal(base.system_series(), ctrl.system_series())
    pd.testing.assert_frame_equal(base.park_series(), ctrl.park_series())
    assert (out.folder / "controlled_system.csv").exists()


def test_unregistered_method_is_a_load_error():
    from scenarios.schema import ScenarioError

    with pytest.raises(ScenarioError, match="field 'method'.*must be one of"):
        load("three_parks_560", {"method": "always_usual"})

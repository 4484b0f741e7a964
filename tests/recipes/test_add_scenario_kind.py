"""Recipe "add a scenario kind": a schema class, a pipeline, one registry line.

The kind here lives in this test and is registered through the public API of
:mod:`scenarios.kinds`; a real kind is one module (schema + pipeline, e.g.
``scenarios/pipelines/<kind>.py``) plus one line in ``scenarios/kinds.py``.
The runner gives it the results-folder lifecycle (partial folder, manifest,
atomic rename) without knowing anything about it.
"""

from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
import pytest
from pydantic import Field

from scenarios import kinds, results
from scenarios.base import ScenarioBase
from scenarios.pipelines import RunContext, RunOutput
from scenarios.runner import report, run_scenario
from scenarios.schema import ScenarioError, load


class ConstantLoadScenario(ScenarioBase):
    """A site drawing a constant load."""

    kind: Literal["constant_load"] = "constant_load"
    load_kw: Annotated[float, Field(ge=0.0, le=1e6, description="kW")]


def _simulate(sc: ConstantLoadScenario, ctx: RunContext) -> RunOutput:
    n = sc.n_steps if ctx.max_steps is None else min(ctx.max_steps, sc.n_steps)
    series = pd.DataFrame({"step": range(n), "load_kw": [sc.load_kw] * n})
    summary = pd.DataFrame({"site": {"energy_kwh": sc.load_kw * sc.step_h * n}})
    return RunOutput(sc, {}, None, summary, 0.0, {"series": series})


def _write(out: RunOutput, folder: Path, *, plots: bool) -> dict:
    results.write_table(folder / "site_system", out.extras["series"])
    return {"periods": len(out.extras["series"])}


PIPELINE = types.SimpleNamespace(simulate=_simulate, write=_write, report=lambda out: out.summary.to_string())


@pytest.fixture
def constant_kind():
    kinds.register_kind(kinds.ScenarioKind("constant_load", ConstantLoadScenario, PIPELINE, "test dummy"))
    yield
    kinds.unregister_kind("constant_load")


def test_a_registered_kind_loads_and_runs_through_the_runner(constant_kind, tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("kind: constant_load\nname: site\nload_kw: 2.5\nhorizon_h: 4\n")
    sc = load(p)
    assert isinstance(sc, ConstantLoadScenario) and sc.n_steps == 4
    out = run_scenario(sc, tmp_path / "out", source_text=p.read_text(), progress=False)
    assert (out.folder / "site_system.csv").exists() and "10" in report(out)
    manifest = json.loads((out.folder / "manifest.json").read_text())
    assert manifest["kind"] == "constant_load" and manifest["periods"] == 4
    p.write_text("kind: constant_load\nname: site\nload_kw: -1\n")
    with pytest.raises(ScenarioError, match=r"field 'load_kw': got -1; allowed: >= 0"):
        load(p)


def test_an_unregistered_kind_is_named_in_the_error(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("kind: constant_load\nname: site\nload_kw: 2.5\n")
    with pytest.raises(ScenarioError, match="field 'kind': got 'constant_load': must be one of"):
        load(p)

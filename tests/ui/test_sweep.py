"""``vppsim sweep``: grid parsing, one row per cell, failures in rows, resume, and engine agreement."""

from __future__ import annotations

import importlib.util
import json
import time

import pandas as pd
import pytest

from scenarios import sweep as sw

HAS_RAY = importlib.util.find_spec("ray") is not None


def test_parse_grid_types_and_order():
    g = sw.parse_grid(["scale=1,10,0.5", "seed=1,2", "method=qmix,lagrangian", "aggregation.max_levels=3"])
    assert list(g) == ["scale", "seed", "method", "aggregation.max_levels"]
    assert g["scale"] == [1, 10, 0.5] and g["method"] == ["qmix", "lagrangian"]
    cells = sw.expand_grid(g)
    assert len(cells) == 3 * 2 * 2 * 1
    assert cells[0] == {"scale": 1, "seed": 1, "method": "qmix", "aggregation.max_levels": 3}
    assert sw.cell_id(cells[1]) == "scale=1_seed=1_method=lagrangian_aggregation.max_levels=3"


@pytest.mark.parametrize("bad", ["scale", "=1,2", "scale=1,,2", "scale=1,1", "1x=2"])
def test_parse_grid_rejects(bad):
    with pytest.raises(sw.SweepInputError):
        sw.parse_grid([bad])
    with pytest.raises(sw.SweepInputError):
        sw.parse_grid(["seed=1", "seed=2"])


def test_sweep_rows_failures_plots_and_resume(tmp_path):
    grid = sw.parse_grid(["seed=1,2", "scale=1,-1"])  # scale=-1 fails validation: a failed row, not a crash
    t = sw.run_sweep("two_ac", grid, tmp_path, steps=2, jobs=1, progress=False)
    assert len(t) == 4 and list(t.columns[:5]) == ["seed", "scale", "cell", "status", "error"]
    assert list(t["status"]) == ["ok", "error", "ok", "error"]
    bad = t[t["status"] == "error"]
    assert bad["error"].str.contains("scale").all()
    ok = t[t["status"] == "ok"]
    assert (ok["controlled.periods"] == 2).all() and ok["wall_s"].gt(0).all()
    for f in ok["folder"]:
        assert (tmp_path / "cells").resolve() in __import__("pathlib").Path(f).parents
    disk = pd.read_csv(tmp_path / "sweep.csv")
    assert len(disk) == 4 and pd.read_parquet(tmp_path / "sweep.parquet").shape == t.shape
    assert (tmp_path / "plots" / "controlled.energy_mwh.png").stat().st_size > 1000
    meta = json.loads((tmp_path / "sweep.json").read_text())
    assert meta["ok"] == 2 and meta["failed"] == 2

    # Resume: the two good cells are read back, the failed ones are tried again.
    t0 = time.perf_counter()
    t2 = sw.run_sweep("two_ac", grid, tmp_path, steps=2, jobs=1, progress=False, plots=False)
    assert time.perf_counter() - t0 < 5
    assert list(t2["skipped"]) == [True, False, True, False]
    assert sw.cell_rows_equal(t, t2)


def test_unknown_scenario_is_bad_input(tmp_path):
    from scenarios.base import ScenarioError

    with pytest.raises(ScenarioError):
        sw.run_sweep("no_such_scenario", {"seed": [1]}, tmp_path, progress=False)
    with pytest.raises(sw.SweepInputError):
        sw.run_sweep("two_ac", {"seed": [1]}, tmp_path, engine="dask", progress=False)


def test_cli_json_and_exit_codes(tmp_path, capsys):
    import argparse

    p = argparse.ArgumentParser()
    sw.add_sweep_parser(p.add_subparsers(dest="command"))
    a = p.parse_args(["sweep", "two_ac", "--grid", "seed=3", "--steps", "1", "--jobs", "1", "--json",
                      "--no-plots", "--out", str(tmp_path)])
    assert a.func(a) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["command"] == "sweep" and doc["cells"] == 1 and doc["failed"] == 0
    a = p.parse_args(["sweep", "two_ac", "--grid", "seed", "--json", "--out", str(tmp_path)])
    assert a.func(a) == 2
    assert json.loads(capsys.readouterr().out)["exit_code"] == 2
    a = p.parse_args(["sweep", "two_ac", "--grid", "scale=-1", "--quiet", "--out", str(tmp_path / "f")])
    assert a.func(a) == 1


def _engines_agree(tmp_path, scenario: str, grid: list[str], steps: int) -> None:
    g = sw.parse_grid(grid)
    local = sw.run_sweep(scenario, g, tmp_path / "local", steps=steps, jobs=2, progress=False, plots=False)
    ray = sw.run_sweep(scenario, g, tmp_path / "ray", engine="ray", steps=steps, progress=False, plots=False,
                       ray_init={"num_cpus": 2})
    assert (local["status"] == "ok").all(), local["error"].tolist()
    assert sw.cell_rows_equal(local, ray), pd.concat([local, ray]).T


# 40-60 s on an idle 2-core machine (spawned workers re-import torch; Ray starts in ~6 s),
# minutes when it is shared: slow, like the three-parks version below.
@pytest.mark.slow
@pytest.mark.skipif(not HAS_RAY, reason="Ray is not installed (pip install 'vppsim[ray]')")
def test_local_and_ray_tables_identical_small(tmp_path):
    _engines_agree(tmp_path, "two_ac", ["seed=1,2"], steps=2)


@pytest.mark.slow
@pytest.mark.skipif(not HAS_RAY, reason="Ray is not installed (pip install 'vppsim[ray]')")
def test_local_and_ray_tables_identical_three_parks(tmp_path):
    _engines_agree(tmp_path, "three_parks_560", ["seed=1,2", "method=qmix,lagrangian"], steps=2)


def test_list_values_and_uptake_columns():
    g = sw.parse_grid(["grid.sweep_agents=[0],[56, 560]", "method=qmix"])
    assert g["grid.sweep_agents"] == [[0], [56, 560]]

    class Out:
        summary = pd.DataFrame({"baseline": [1.0]}, index=["energy_mwh"])
        extras = {"uptake": pd.DataFrame({"mode": ["uncontrolled", "closed_loop"], "n_agents": [56, 56],
                                          "co2_t": [10.0, 9.5], "renewable_utilisation": [0.8, 0.9]})}

    row = sw._metrics(Out())
    assert row == {"baseline.energy_mwh": 1.0, "uptake.uncontrolled.co2_t": 10.0,
                   "uptake.uncontrolled.renewable_utilisation": 0.8, "uptake.closed_loop.co2_t": 9.5,
                   "uptake.closed_loop.renewable_utilisation": 0.9}

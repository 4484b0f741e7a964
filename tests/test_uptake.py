import numpy as np
import pytest

from scenarios.runner import run_scenario, system_signal
from scenarios.schema import load


def test_grid_signal_is_the_dispatch_renewable_share():
    sc = load("ieee14_uptake")
    sig = system_signal(sc)
    eta = sig.eta_gi
    assert eta.shape == (24,)
    assert (eta >= 0).all() and (eta <= 1).all()
    assert eta.max() > 0.2  # the case has real renewables
    assert eta.std() > 0.01  # and they vary over the day


def test_uptake_sweep_writes_table_and_plot(tmp_path):
    sc = load("ieee14_uptake")
    sc = sc.model_copy(update={"grid": sc.grid.model_copy(update={"sweep_agents": [0, 560, 5600]})})
    out = run_scenario(sc, tmp_path, progress=False)
    df = out.extras["uptake"]
    assert set(df["mode"]) == {"baseline", "controlled"}
    assert (df["status"] == "optimal").all()
    ctrl = df[df["mode"] == "controlled"].set_index("n_agents")
    base = df[df["mode"] == "baseline"].set_index("n_agents")
    # N = 0 is the case itself; the baseline rows are that case at every N.
    assert ctrl.loc[0, "co2_t"] == pytest.approx(base.loc[0, "co2_t"])
    assert np.allclose(base["co2_t"], base["co2_t"].iloc[0])
    # Control changes the dispatch more as more agents participate.
    d560 = abs(ctrl.loc[560, "co2_t"] - base.loc[560, "co2_t"])
    d5600 = abs(ctrl.loc[5600, "co2_t"] - base.loc[5600, "co2_t"])
    assert d5600 > d560 > 0
    assert (out.folder / "uptake.csv").exists() and (out.folder / "uptake.png").exists()

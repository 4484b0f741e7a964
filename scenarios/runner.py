"""Run a scenario end to end and write its results folder.

A run simulates the uncontrolled baseline day (rule policy) and, when the
scenario names another policy, the controlled day from the same seed, so the
two differ only by control. Results go to ``<out>/<name>-<stamp>/``; the folder
is assembled under a ``.partial`` name and renamed when complete.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from aggregation.model import Decider, SystemSignal, VppModel
from aggregation.policy import Policy, RulePolicy, make_policy
from aggregation.profiles import simbench_system_signal
from aggregation.weather import load_weather

from . import results
from .schema import Scenario, ScenarioError

_VERSIONED = ("vppsim", "numpy", "pandas", "scipy", "mesa", "pandapower", "pvlib", "torch", "pydantic", "highspy")


@dataclass
class RunOutput:
    """What a run produced."""

    scenario: Scenario
    models: dict[str, VppModel]
    folder: Path | None
    summary: pd.DataFrame
    wall_s: float
    extras: dict = field(default_factory=dict)


def weather_for(sc: Scenario) -> pd.DataFrame:
    return load_weather(sc.weather.file, sc.start_day_of_year, sc.n_steps, sc.step_h)


def system_signal(sc: Scenario) -> SystemSignal:
    """The system generation series that defines eta_GI for this scenario."""
    si = sc.system_index
    if si.source == "series":
        n = sc.n_steps
        return SystemSignal(np.asarray(si.series.e_res_mwh[:n], float), np.asarray(si.series.e_tot_mwh[:n], float))
    if si.source == "grid":
        from .uptake import grid_signal

        return grid_signal(sc)
    s = si.simbench
    e_res, e_tot = simbench_system_signal(
        s.load_profile, s.pv_profile, s.wind_profile, s.pv_capacity_per_peak_load, s.wind_capacity_per_peak_load,
        s.peak_load_mw, sc.start_day_of_year, sc.n_steps, sc.step_h,
    )
    return SystemSignal(e_res, e_tot)


def policy_for(sc: Scenario) -> Policy:
    """The controlled policy the scenario asks for."""
    kind = sc.policy.kind
    if kind == "qmix":
        try:
            from learners.deploy import QMIXPolicy
        except ImportError as exc:  # pragma: no cover - reported to the user
            raise ScenarioError(f"policy 'qmix' is not available in this installation: {exc}") from None
        if sc.policy.weights is None:
            raise ScenarioError(f"scenario {sc.name}: method/policy 'qmix' needs policy.weights")
        try:
            return QMIXPolicy(sc.policy.weights)
        except FileNotFoundError as exc:
            raise ScenarioError(f"scenario {sc.name}: policy.weights: {exc}") from None
    return make_policy(kind)


def decider_for(sc: Scenario) -> Decider | None:
    """The self-organising decider when aggregation is enabled, else plain policy calls."""
    if not sc.aggregation.enabled:
        return None
    try:
        from aggregation.hierarchy import make_decider
    except ImportError:
        raise ScenarioError("aggregation.enabled is true but this installation has no hierarchy module") from None
    return make_decider(sc.aggregation, sc.fitness.similarity_lambda)


def controlled_for(sc: Scenario) -> tuple[Policy, Decider | None] | None:
    """Policy and decider of the controlled day, or None when the scenario only runs the baseline.

    ``method`` overrides ``policy.kind`` / ``aggregation.enabled``: ``qmix`` is QMIX agents
    self-organising, ``greedy`` the myopic policy alone, ``mip`` / ``lagrangian`` the
    centralised and distributed baselines of ``docs/baselines.md``.
    """
    method = sc.method
    if method is None:
        if sc.policy.kind == "rule" and not sc.aggregation.enabled:
            return None
        return policy_for(sc), decider_for(sc)
    if method == "rule":
        return None
    if method in ("mip", "lagrangian"):
        from learners.baselines import make_method_decider

        return RulePolicy(), make_method_decider(method)
    sc2 = sc.model_copy(update={
        "policy": sc.policy.model_copy(update={"kind": method}),
        "aggregation": sc.aggregation.model_copy(update={"enabled": method == "qmix"}),
    })
    return policy_for(sc2), decider_for(sc2)


def build_model(
    sc: Scenario,
    policy: Policy | None = None,
    decider: Decider | None = None,
    *,
    handles: bool = True,
    weather: pd.DataFrame | None = None,
    signal: SystemSignal | None = None,
) -> VppModel:
    """A model of the scenario's population (weather and signal may be passed to share them)."""
    weather = weather_for(sc) if weather is None else weather
    signal = system_signal(sc) if signal is None else signal
    return VppModel(
        list(sc.parks),
        signal,
        weather,
        day_of_year=sc.start_day_of_year,
        step_h=sc.step_h,
        scale=sc.scale,
        lam=sc.fitness.similarity_lambda,
        policy=policy,
        decider=decider,
        handles=handles,
        seed=sc.seed,
    )


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def summary_table(models: dict[str, VppModel]) -> pd.DataFrame:
    """One column per run label, one row per indicator."""
    return pd.DataFrame({label: m.summary() for label, m in models.items()})


def run_scenario(
    sc: Scenario,
    out_root: Path | None = Path("results"),
    *,
    source_text: str | None = None,
    progress: bool = True,
    max_steps: int | None = None,
    resume: Path | None = None,
    plots: bool | None = None,
) -> RunOutput:
    """Simulate the scenario and write its results folder.

    Args:
        sc: a validated scenario.
        out_root: folder that receives ``<name>-<stamp>/``; None writes nothing.
        source_text: the scenario file's text, copied into the results folder.
        progress: show a progress bar when the run takes more than ~2 s.
        max_steps: stop after this many periods (smoke tests).
        resume: a ``.partial`` folder of an interrupted run to continue.
        plots: override the scenario's ``output.plots``.
    """
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    weather = weather_for(sc)
    signal = system_signal(sc)
    labels: dict[str, tuple[Policy, Decider | None]] = {"baseline": (RulePolicy(), None)}
    controlled = controlled_for(sc)
    if controlled is not None:
        labels["controlled"] = controlled
    n_steps = sc.n_steps if max_steps is None else min(max_steps, sc.n_steps)

    partial = None
    if resume is not None:
        partial = Path(resume)
        if not partial.is_dir():
            raise ScenarioError(f"{resume}: no such run folder to resume")
    elif out_root is not None:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        partial = Path(out_root) / f".{sc.name}-{stamp}.partial"
        partial.mkdir(parents=True, exist_ok=False)
        if source_text is not None:
            (partial / "scenario.yaml").write_text(source_text, encoding="utf-8")

    models: dict[str, VppModel] = {}
    every = sc.output.checkpoint_every_steps
    with tqdm(total=n_steps * len(labels), desc=sc.name, unit="period", delay=2.0, disable=not progress) as bar:
        for label, (policy, decider) in labels.items():
            model = build_model(sc, policy, decider, weather=weather, signal=signal)
            ckpt = partial / f"checkpoint_{label}.pkl" if partial is not None else None
            if resume is not None and ckpt is not None and ckpt.exists():
                model.restore_state(results.read_pickle(ckpt))
                bar.update(min(model.steps, n_steps))
            while model.steps < n_steps:
                model.step()
                bar.update(1)
                if every and ckpt is not None and (model.steps % every == 0):
                    results.write_pickle(ckpt, model.checkpoint_state())
            models[label] = model

    summary = summary_table(models)
    extras: dict = {}
    if sc.grid is not None and sc.grid.sweep_agents and max_steps is None:
        from .uptake import run_sweep

        extras["uptake"] = run_sweep(sc, partial, weather=weather, signal=signal,
                                     controlled=lambda: controlled_for(sc), progress=progress)
    wall = time.perf_counter() - t0
    out = RunOutput(sc, models, None, summary, wall, extras)
    if partial is None:
        return out
    _write(out, partial, plots=sc.output.plots if plots is None else plots)
    for label in models:
        (partial / f"checkpoint_{label}.pkl").unlink(missing_ok=True)
    final = partial.parent / partial.name.removeprefix(".").removesuffix(".partial")
    out.folder = results.finalise_dir(partial, final)
    return out


def _write(out: RunOutput, folder: Path, *, plots: bool) -> None:
    sc = out.scenario
    for label, m in out.models.items():
        results.write_table(folder / f"{label}_system", m.system_series())
        results.write_table(folder / f"{label}_parks", m.park_series())
    summ = out.summary.reset_index(names="indicator")
    results.write_table(folder / "summary", summ)
    manifest = {
        "scenario": sc.name,
        "scenario_sha256": sc.content_hash(),
        "seed": sc.seed,
        "n_ders": {k: m.fleet.n_ders for k, m in out.models.items()},
        "periods": {k: m.steps for k, m in out.models.items()},
        "method": sc.method,
        "policy": sc.policy.kind,
        "aggregation": sc.aggregation.enabled,
        "versions": versions(),
        "wall_time_s": round(out.wall_s, 3),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if not (folder / "scenario.yaml").exists():
        results.write_json(folder / "scenario.json", sc.model_dump(mode="json"))
    if plots:
        from .plots import write_run_plots

        write_run_plots(out, folder)
    ctrl = out.models.get("controlled")
    if ctrl is not None and hasattr(ctrl.decider, "write_outputs"):
        from aggregation.hierarchy import write_comparison

        ctrl.decider.write_outputs(folder, ctrl, plots=plots)
        manifest["aggregation_figures"] = write_comparison(out.models["baseline"], ctrl, folder, plots=plots)
    results.write_json(folder / "manifest.json", manifest)


def format_summary(summary: pd.DataFrame) -> str:
    """Plain-text table for the terminal."""
    df = summary.copy()
    if "baseline" in df and "controlled" in df:
        base = df["baseline"].replace(0, np.nan)
        df["change_%"] = 100.0 * (df["controlled"] - df["baseline"]) / base.abs()
    return df.to_string(float_format=lambda v: f"{v:,.4g}")

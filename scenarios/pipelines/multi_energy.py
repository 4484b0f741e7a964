"""Pipeline of ``multi_energy`` scenarios: :func:`scenarios.multi_energy.run` inside the runner's lifecycle,
and ``vppsim train`` of the learners registered for the kind (:func:`train`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import training_folder
from .folder_run import folder_pipeline

_PIPELINE = folder_pipeline("scenarios.multi_energy:run")
simulate, write, report = _PIPELINE.simulate, _PIPELINE.write, _PIPELINE.report

__all__ = ["report", "simulate", "train", "write"]

TRAINING_DAYS = 7  # seed 002: episodes of 7 days; each training day is one of the week after the scenario's start


def train(sc: Any, out_root: Path, *, learner: str | None = None, episodes: int | None = None,
          resume: bool = False, progress: bool = True, checkpoint_every: int | None = None) -> Path:
    """Train seed 002's improved MADDPG (with or without the MPC feedback) on the scenario's site.

    Writes ``<out_root>/<scenario>-<learner>/checkpoint.pt`` (``--resume`` continues it) and
    ``weights.pt`` (the actors' tensors; ``learners.maddpg_mpc.load_policy`` reads them).

    Raises:
        ScenarioError: a learner not registered for multi_energy scenarios, or ``resume`` without a checkpoint.
    """
    import learners.registry as methods
    from learners.maddpg_mpc import train as train_two_stage
    from learners.maddpg_mpc_config import MADDPGMPCConfig

    from ..multi_energy import build_day, site_config

    name, folder = training_folder(sc, out_root, "multi_energy", learner=learner, default="maddpg_mpc",
                                   resume=resume, checkpoint_every=checkpoint_every,
                                   trains="multi_energy scenarios train", learners="these learners",
                                   checkpoints=("checkpoint.pt", "model.zip"))
    entry = methods.get(name)
    if "sac_lax:" in str(entry.learner):
        _train_sb3(sc, name, folder, episodes, resume)
        return folder
    overrides = dict(entry.fixed)
    if episodes is not None:
        overrides["n_episodes"] = int(episodes)
    config = MADDPGMPCConfig.variant("full", **overrides)
    cfg = site_config(sc)  # the site does not depend on the day
    days = [build_day(sc.model_copy(update={"start_day_of_year": 1 + (sc.start_day_of_year - 1 + d) % 365}))[1]
            for d in range(TRAINING_DAYS)]
    report_fn = (lambda msg: print(msg, flush=True)) if progress else None
    agent = train_two_stage(cfg, days, config, checkpoint_dir=folder, resume=resume, progress=report_fn)
    agent.export_weights(folder / "weights.pt")
    return folder


def _train_sb3(sc: Any, name: str, folder: Path, episodes: int | None, resume: bool) -> None:
    """Seed 001's learners (Stable-Baselines3) on the scenario's year of days; ``model.zip`` checkpoints."""
    import learners.registry as methods
    from learners.forecasters import load_forecaster
    from learners.sac_lax import SHIPPED_FORECASTER, DaySampler, MultiEnergyTask, forecaster_provider

    from ..multi_energy import build_year, site_config

    opts = {} if episodes is None else {"n_episodes": int(episodes)}
    config = methods.config_for(name, opts)
    year = build_year(sc)
    provider = forecaster_provider(load_forecaster(SHIPPED_FORECASTER), year) if config.forecast else None
    task = MultiEnergyTask(site_config(sc), DaySampler(year, range(255)), provider)
    agent = methods.make_learner(name, task, opts)
    agent.train(None, checkpoint_dir=folder, resume=resume)
    methods.load_object(methods.get(name).export)(agent, folder / "weights.pt",
                                                  {"scenario": sc.name, "learner": name})

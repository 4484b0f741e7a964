"""Pipeline of ``vpp_market`` scenarios: :func:`scenarios.vpp_market.run` inside the runner's lifecycle,
and ``vppsim train`` of the game's learners (:func:`train`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import training_folder
from .folder_run import folder_pipeline

_PIPELINE = folder_pipeline("scenarios.vpp_market:run")
simulate, write, report = _PIPELINE.simulate, _PIPELINE.write, _PIPELINE.report

__all__ = ["report", "simulate", "train", "write"]


def train(sc: Any, out_root: Path, *, learner: str | None = None, episodes: int | None = None,
          resume: bool = False, progress: bool = True, checkpoint_every: int | None = None) -> Path:
    """Train MADDPG or DROMARL on the scenario's supply/load game; returns the training folder.

    Writes ``<out_root>/<scenario>-<learner>/``: ``checkpoint.pt`` (``--resume`` continues it) and
    ``weights.pt`` (tensors only) with its JSON sidecar.

    Raises:
        ScenarioError: an unknown learner, or ``resume`` without a checkpoint.
    """
    from ..vpp_market import train_learner

    name, folder = training_folder(sc, out_root, "vpp_market", learner=learner, resume=resume,
                                   checkpoint_every=checkpoint_every, trains="the vpp_market game trains",
                                   learners="the market learners")
    report_fn = (lambda msg: print(msg, flush=True)) if progress else None
    train_learner(sc, name, n_episodes=episodes, checkpoint_dir=folder, weights=folder / "weights.pt",
                  resume=resume, progress=report_fn)
    return folder

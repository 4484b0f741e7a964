"""Pipelines: what a scenario kind simulates and writes, one module per kind.

A pipeline module (named by :mod:`scenarios.kinds`) provides::

    simulate(sc, ctx: RunContext) -> RunOutput      # all periods of every run label
    write(out: RunOutput, folder: Path, *, plots: bool) -> dict   # result files; returns manifest fields
    report(out: RunOutput) -> str                   # the terminal summary of `vppsim run`

The runner (:mod:`scenarios.runner`) owns the results-folder lifecycle around
it: the ``.partial`` folder, resume, checkpoint files (through :class:`RunContext`),
the manifest and the final rename. Pipelines write through :mod:`scenarios.results`
(atomic writes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .. import results
from ..errors import ScenarioError

__all__ = ["RunContext", "RunOutput", "training_folder"]


@dataclass
class RunOutput:
    """What a run produced.

    Attributes:
        scenario: the validated scenario.
        models: the simulated models by run label (``baseline``, ``controlled`` …).
        folder: the final results folder (None until written, or when nothing is written).
        summary: one column per run label, one row per indicator.
        wall_s: simulation wall time, seconds.
        extras: kind-specific outputs (e.g. ``uptake``: the grid sweep table).
    """

    scenario: Any
    models: dict[str, Any]
    folder: Path | None
    summary: pd.DataFrame
    wall_s: float
    extras: dict = field(default_factory=dict)


@dataclass
class RunContext:
    """The runner's side of a run, handed to the pipeline.

    Attributes:
        folder: the ``.partial`` results folder (None: write nothing, no checkpoints).
        resume: continue from the checkpoints found in ``folder``.
        max_steps: stop after this many periods (None: the whole horizon).
        progress: show progress bars.
        checkpoint_every: periods between checkpoints (0: none).
        plots: the caller's override of the scenario's plots setting (None: the scenario's).
    """

    folder: Path | None = None
    resume: bool = False
    max_steps: int | None = None
    progress: bool = True
    checkpoint_every: int = 0
    plots: bool | None = None

    def restore(self, label: str) -> Any | None:
        """The checkpointed state of run ``label`` when resuming and one exists, else None."""
        path = self._path(label)
        if self.resume and path is not None and path.exists():
            return results.read_pickle(path)
        return None

    def maybe_checkpoint(self, label: str, steps: int, state: Any) -> None:
        """Write ``state()`` atomically when ``steps`` is a multiple of ``checkpoint_every``.

        ``state`` is a zero-argument callable so that no state is built between checkpoints.
        """
        path = self._path(label)
        if self.checkpoint_every and path is not None and steps % self.checkpoint_every == 0:
            results.write_pickle(path, state())

    def clear(self) -> None:
        """Remove every checkpoint of the folder (the run is complete)."""
        if self.folder is not None:
            for p in self.folder.glob("checkpoint_*.pkl"):
                p.unlink(missing_ok=True)

    def _path(self, label: str) -> Path | None:
        return self.folder / f"checkpoint_{label}.pkl" if self.folder is not None else None


def training_folder(sc: Any, out_root: Path, kind: str, *, learner: str | None, resume: bool,
                    checkpoint_every: int | None, trains: str, learners: str, default: str | None = None,
                    checkpoints: tuple[str, ...] = ("checkpoint.pt",)) -> tuple[str, Path]:
    """The learner and the (created) folder ``<out_root>/<scenario>-<learner>`` of ``vppsim train`` for a kind
    whose learners checkpoint every episode.

    Args:
        kind: the scenario kind; the learner must be trainable for it.
        learner: the requested learner (None: ``default``, else the first trainable one).
        trains: the message's subject of "… trains <learners>" (e.g. ``"the vpp_market game trains"``).
        learners: the message's subject of "… checkpoint every episode" (e.g. ``"these learners"``).
        checkpoints: files of which one must exist to resume (the first is named in the error).

    Raises:
        ScenarioError: a learner not trainable for ``kind``, ``checkpoint_every`` given, or ``resume`` without a
            checkpoint.
    """
    import learners.registry as methods

    ok = methods.names(trainable=True, scenario_kind=kind)
    name = learner or default or ok[0]
    if name not in ok:
        raise ScenarioError(f"--learner {name!r}: {trains} {', '.join(ok)}")
    if checkpoint_every is not None:
        raise ScenarioError(f"--checkpoint-every: {learners} checkpoint every episode")
    folder = Path(out_root) / f"{sc.name}-{name}"
    if resume and not any((folder / c).exists() for c in checkpoints):
        raise ScenarioError(f"{folder / checkpoints[0]}: no checkpoint to resume; run without --resume")
    folder.mkdir(parents=True, exist_ok=True)
    return name, folder

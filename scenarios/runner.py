"""Run a scenario end to end and write its results folder.

The runner owns only the results-folder lifecycle: results go to
``<out>/<name>-<stamp>/``, assembled under a ``.<name>-<stamp>.partial`` name
(checkpoints included, so ``--resume`` can continue it) and renamed when
complete; every file is written atomically; the manifest says what ran with
which versions. What is simulated and written is the scenario kind's pipeline
(:mod:`scenarios.kinds`, :mod:`scenarios.pipelines`).
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from . import kinds, results
from .base import ScenarioBase, ScenarioError, content_hash
from .build import build_model, controlled_for, decider_for, policy_for, system_signal, weather_for
from .pipelines import RunContext, RunOutput
from .pipelines.der_aggregation import format_summary, summary_table
from .results import versions

# build_model … summary_table are re-exported: wave-1 callers import them from here.
__all__ = [
    "RunContext", "RunOutput", "build_model", "controlled_for", "decider_for", "format_summary", "policy_for",
    "run_scenario", "summary_table", "system_signal", "versions", "weather_for",
]


def run_scenario(
    sc: ScenarioBase,
    out_root: Path | None = Path("results"),
    *,
    source_text: str | None = None,
    progress: bool = True,
    max_steps: int | None = None,
    resume: Path | None = None,
    plots: bool | None = None,
) -> RunOutput:
    """Simulate the scenario through its kind's pipeline and write its results folder.

    Args:
        sc: a validated scenario (any registered kind).
        out_root: folder that receives ``<name>-<stamp>/``; None writes nothing.
        source_text: the scenario file's text, copied into the results folder.
        progress: show a progress bar when the run takes more than ~2 s.
        max_steps: stop after this many periods (smoke tests).
        resume: a ``.partial`` folder of an interrupted run to continue.
        plots: override the scenario's ``output.plots``.

    Raises:
        ScenarioError: ``resume`` is not a folder, or the pipeline rejects the scenario.
    """
    pipeline = kinds.pipeline(sc.kind)
    t0 = time.perf_counter()
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

    # Kinds share ScenarioBase's fields; a kind schema without an ``output`` block gets its defaults.
    output = getattr(sc, "output", None)
    ctx = RunContext(folder=partial, resume=resume is not None, max_steps=max_steps, progress=progress,
                     checkpoint_every=getattr(output, "checkpoint_every_steps", 0), plots=plots)
    try:
        out = pipeline.simulate(sc, ctx)
        if partial is None:
            out.wall_s = time.perf_counter() - t0
            return out
        plots = getattr(output, "plots", getattr(sc, "plots", True)) if plots is None else plots
        fields = pipeline.write(out, partial, plots=plots)
    except BaseException as exc:  # Ctrl-C included: say in the folder how to continue, then re-raise
        if partial is not None:
            _leave_resume_note(partial, exc)
        raise
    out.wall_s = time.perf_counter() - t0  # simulation and writing (the organiser's figures, the bound)
    if not (partial / "scenario.yaml").exists():
        results.write_json(partial / "scenario.json", sc.model_dump(mode="json"))
    manifest = {
        "scenario": sc.name,
        "kind": sc.kind,
        "scenario_sha256": content_hash(sc),
        "seed": sc.seed,
        **fields,
        "versions": versions(),
        "wall_time_s": round(out.wall_s, 3),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    results.write_json(partial / "manifest.json", manifest)
    ctx.clear()
    (partial / "RESUME.txt").unlink(missing_ok=True)  # a resumed run ends with the files of an uninterrupted one
    final = partial.parent / partial.name.removeprefix(".").removesuffix(".partial")
    out.folder = results.finalise_dir(partial, final)
    return out


def _leave_resume_note(partial: Path, exc: BaseException) -> None:
    """Write ``RESUME.txt`` into an unfinished run's folder: how to continue it, or that it cannot be."""
    why = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"stopped by {type(exc).__name__}: {exc}"
    if any(partial.glob("checkpoint_*")):
        how = f"continue it with:  vppsim run --resume {partial}"
    else:
        how = ("it has no checkpoint, so it cannot be resumed: set output.checkpoint_every_steps to make "
               "long runs resumable, delete this folder and run again")
    note = partial / "RESUME.txt"
    try:
        note.write_text(f"This run was {why}.\n{how}\n", encoding="utf-8")
        print(f"unfinished run: {partial} ({how})", file=sys.stderr)
    except OSError:
        pass


def report(out: RunOutput) -> str:
    """The terminal summary of a run, from its kind's pipeline."""
    return kinds.pipeline(out.scenario.kind).report(out)

"""The runner's pipeline protocol around a kind whose module has ``run(sc, folder, progress=, max_steps=)``.

``multi_energy`` and ``vpp_market`` solve their day and write their files into
a folder in one call; :func:`folder_pipeline` wraps such a ``run`` so it writes
into the runner's ``.partial`` folder (or a temporary one when nothing is
kept), and the runner adds the manifest and the atomic rename as for every kind.
"""

from __future__ import annotations

import importlib
import tempfile
import time
import types
from pathlib import Path
from typing import Any

import numpy as np

from . import RunContext, RunOutput

__all__ = ["folder_pipeline"]


def folder_pipeline(run_path: str) -> types.SimpleNamespace:
    """A pipeline (``simulate``, ``write``, ``report``) around the function ``"module:run"``.

    The function is imported when a scenario runs; it must return the summary table
    (one row per method) and honour the scenario's ``plots`` field.
    """

    def simulate(sc: Any, ctx: RunContext) -> RunOutput:
        module, _, attr = run_path.partition(":")
        run = getattr(importlib.import_module(module), attr)
        t0 = time.perf_counter()
        if ctx.plots is not None and "plots" in type(sc).model_fields:
            sc = sc.model_copy(update={"plots": ctx.plots})
        say = print if ctx.progress else None
        if ctx.folder is None:
            with tempfile.TemporaryDirectory() as tmp:
                summary = run(sc, tmp, progress=say, max_steps=ctx.max_steps)
        else:
            summary = run(sc, ctx.folder, progress=say, max_steps=ctx.max_steps)
        return RunOutput(sc, {}, None, summary, time.perf_counter() - t0)

    def write(out: RunOutput, folder: Path, *, plots: bool) -> dict[str, Any]:
        # ``simulate`` already wrote the tables; only the manifest fields are left.
        return {"methods": [str(m) for m in out.summary.index], "periods": getattr(out.scenario, "n_periods", None)}

    def report(out: RunOutput) -> str:
        # one column per method, one row per figure: narrow enough for a terminal
        table = out.summary.T.map(_fmt).to_string()
        return f"\n{out.scenario.name}: {out.wall_s:.2f} s\n{table}"

    return types.SimpleNamespace(simulate=simulate, write=write, report=report)


def _fmt(v: Any) -> str:
    """A number for the terminal: solver noise (< 1e-9) as 0, thousands grouped, 4 significant digits."""
    if isinstance(v, (bool, np.bool_, str)) or v is None:
        return str(v)
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if x != x:
        return "-"
    if abs(x) < 1e-9:
        return "0"
    return f"{x:,.0f}" if abs(x) >= 1e4 else f"{x:.4g}"

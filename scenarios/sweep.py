"""``vppsim sweep``: the cross product of scenario overrides, one run per cell, on a process pool or Ray.

::

    vppsim sweep three_parks_560 --grid scale=1,10,100 --grid seed=1,2,3 --grid method=qmix,lagrangian \\
        [--engine local|ray] [--address ADDR] [--out DIR] [--steps N] [--jobs N]

Each cell is the scenario with the cell's overrides (top-level fields such as
``seed``, ``scale``, ``method``, or dotted paths such as ``aggregation.max_levels``),
run by the normal run entry point into ``<out>/cells/<cell>/``. The sweep writes
``<out>/sweep.{csv,parquet}`` (one row per cell: parameters, summary metrics,
wall time, results folder, status and error) and ``<out>/plots/<metric>.png``.

A failed cell is reported in its row and does not stop the others. A cell whose
``cell.json`` exists (written only after success) is not run again, so re-running
the same command resumes an interrupted sweep. Cells are independent and seeded,
so both engines produce the same table apart from the wall-time columns.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

from .errors import ScenarioError
from .yamlsafe import parse_scenario_yaml, read_scenario_yaml

__all__ = [
    "CellSpec", "add_sweep_parser", "cell_id", "expand_grid", "parse_grid", "run_cell", "run_sweep",
    "write_plots",
]

# Columns that legitimately differ between two runs of the same cell.
WALL_COLUMNS = ("wall_s", "run_wall_s", "folder", "engine", "skipped")
STATUS_OK, STATUS_ERROR = "ok", "error"


class SweepInputError(ValueError):
    """Bad --grid syntax or values (exit code 2)."""


# ------------------------------------------------------------------ grid
def _parse_value(token: str) -> Any:
    """``1`` → 1, ``1.5`` → 1.5, ``true`` → True, ``null`` → None, ``[0,56]`` → [0, 56]; else a string."""
    token = token.strip()
    if token == "":
        raise SweepInputError("empty value in --grid")
    try:
        v = parse_scenario_yaml(token, "--grid")
    except ScenarioError:
        return token
    if isinstance(v, list) and all(isinstance(x, bool | int | float | str) for x in v):
        return v
    return v if isinstance(v, bool | int | float | str) or v is None else token


def _split_values(values: str) -> list[str]:
    """Split on commas outside brackets: ``[0],[56,560]`` → ``["[0]", "[56,560]"]``."""
    out, depth, cur = [], 0, ""
    for ch in values:
        depth += ch == "["
        depth -= ch == "]"
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


def parse_grid(items: Sequence[str]) -> dict[str, list[Any]]:
    """``["scale=1,10", "seed=1,2"]`` → ``{"scale": [1, 10], "seed": [1, 2]}`` (order kept).

    Raises:
        SweepInputError: an item is not ``key=v1,v2,...``, a key repeats, or a value is empty.
    """
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", key):
            raise SweepInputError(f"--grid {item!r}: expected key=v1,v2,... (key: a field or dotted path)")
        if key in grid:
            raise SweepInputError(f"--grid {key} given twice")
        vals = [_parse_value(v) for v in _split_values(values)]
        if len(set(map(repr, vals))) != len(vals):
            raise SweepInputError(f"--grid {key}: repeated value in {values!r}")
        grid[key] = vals
    return grid


def expand_grid(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The cross product, first key varying slowest (the row order of the table)."""
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(grid[k] for k in keys))]


def cell_id(params: dict[str, Any]) -> str:
    """A folder name naming the cell, e.g. ``scale=10_seed=2_method=qmix``."""
    if not params:
        return "default"
    raw = "_".join(f"{k}={v}" for k, v in params.items())
    return re.sub(r"[^A-Za-z0-9_.=\-]", "-", raw)


# ------------------------------------------------------------------ one cell
@dataclass(frozen=True)
class CellSpec:
    """Everything a worker needs to run one cell (picklable, sent to processes or Ray tasks).

    Attributes:
        scenario: bundled name or path of the scenario file.
        params: the cell's overrides.
        folder: the cell's folder (receives ``<scenario>-<stamp>/`` and ``cell.json``).
        steps: stop each run after this many periods (None: the whole horizon).
        threads: torch intra-op threads of the worker (fixed so results do not depend on the engine).
        plots: write each run's PNG plots.
    """

    scenario: str
    params: dict[str, Any]
    folder: str
    steps: int | None = None
    threads: int = 1
    plots: bool = False


def _set_dotted(data: dict, key: str, value: Any) -> None:
    parts = key.split(".")
    cur = data
    for p in parts[:-1]:
        nxt = cur.get(p)
        if not isinstance(nxt, dict):
            nxt = {} if nxt is None else nxt
            if not isinstance(nxt, dict):
                raise SweepInputError(f"--grid {key}: {p} is not a mapping in the scenario")
            cur[p] = nxt
        cur = nxt
    cur[parts[-1]] = value


def load_cell_scenario(scenario: str, params: dict[str, Any]) -> Any:
    """The validated scenario of a cell (adapter over :mod:`scenarios.schema`).

    Raises:
        ScenarioError: the overridden scenario does not validate.
    """
    from .schema import parse, resolve

    path = resolve(scenario)
    data = read_scenario_yaml(path)
    if not isinstance(data, dict):
        data = {}
    for k, v in params.items():
        _set_dotted(data, k, v)
    return parse(data, f"{path} with {params}")


def _run_entry(sc: Any, out_root: Path, *, source_text: str, steps: int | None, plots: bool) -> Any:
    """The one call into the run entry point (one line to change if it moves)."""
    from .runner import run_scenario

    return run_scenario(sc, out_root, source_text=source_text, progress=False, max_steps=steps, plots=plots)


def _metrics(out: Any) -> dict[str, Any]:
    """Flatten a run's summary (indicators × run labels) to ``label.indicator`` columns."""
    import pandas as pd

    summary = getattr(out, "summary", None)
    row: dict[str, Any] = {}
    if summary is not None and hasattr(summary, "columns"):
        for label in summary.columns:
            for ind, v in summary[label].items():
                row[f"{label}.{ind}"] = float(v) if isinstance(v, int | float) or hasattr(v, "__float__") else v
    up = getattr(out, "extras", {}).get("uptake")
    if isinstance(up, pd.DataFrame) and len(up) and {"mode", "n_agents"} <= set(up.columns):
        # Grid scenarios: the uptake table's indicators per mode (and agent count when several).
        one = up["n_agents"].nunique() == 1
        cols = [c for c in ("renewable_utilisation", "curtailment_rate", "co2_t", "cost", "congestion_hours",
                            "ac_violation_hours") if c in up.columns]
        for _, r in up.iterrows():
            key = f"uptake.{r['mode']}" if one else f"uptake.{r['mode']}[{int(r['n_agents'])}]"
            for c in cols:
                row[f"{key}.{c}"] = float(r[c])
    return row


def _limit_threads(n: int) -> int | None:
    """Set torch's intra-op threads; return the previous count (None without torch)."""
    os.environ.setdefault("OMP_NUM_THREADS", str(n))
    try:
        import torch

        prev = torch.get_num_threads()
        torch.set_num_threads(n)
        return prev
    except Exception:  # noqa: BLE001 - torch is optional for some kinds; threads are a speed matter only
        return None


def _restore_threads(prev: int | None) -> None:
    if prev is not None:
        import torch

        torch.set_num_threads(prev)


def run_cell(spec: CellSpec) -> dict[str, Any]:
    """Run one cell and return its table row; never raises (a failure is a row with ``status=error``)."""
    t0 = time.perf_counter()
    folder = Path(spec.folder)
    done = folder / "cell.json"
    if done.exists():
        row = json.loads(done.read_text(encoding="utf-8"))
        row["skipped"] = True
        return row
    row: dict[str, Any] = {**spec.params, "cell": folder.name, "status": STATUS_ERROR, "error": "",
                           "folder": "", "skipped": False}
    prev_threads = _limit_threads(spec.threads)
    try:
        sc = load_cell_scenario(spec.scenario, spec.params)
        folder.mkdir(parents=True, exist_ok=True)
        # Leftovers of an interrupted attempt are not resumable without the partial's checkpoints
        # (sweeps run without checkpoints); a fresh run is simpler than guessing.
        for old in folder.glob(".*.partial"):
            _rmtree(old)
        text = yaml.safe_dump(sc.model_dump(mode="json"), sort_keys=False)
        out = _run_entry(sc, folder, source_text=text, steps=spec.steps, plots=spec.plots)
        row.update(_metrics(out))
        row["run_wall_s"] = float(getattr(out, "wall_s", float("nan")))
        row["folder"] = str(getattr(out, "folder", "") or "")
        row["status"] = STATUS_OK
    except Exception as exc:  # noqa: BLE001 - a failed cell is reported in its row, the sweep goes on
        tb = traceback.format_exception_only(type(exc), exc)
        row["error"] = "".join(tb).strip()[-2000:]
    finally:
        # In-process cells (--jobs 1) must not leave the caller's torch single-threaded.
        _restore_threads(prev_threads)
    row["wall_s"] = time.perf_counter() - t0
    if row["status"] == STATUS_OK:
        _write_json_atomic(done, row)
    return row


def _rmtree(p: Path) -> None:
    import shutil

    shutil.rmtree(p, ignore_errors=True)


def _write_json_atomic(path: Path, obj: dict) -> None:
    from aggregation.io import write_text

    from .progress import to_jsonable

    write_text(path, json.dumps(to_jsonable(obj), indent=1, sort_keys=True))


# ------------------------------------------------------------------ engines
def _run_local(specs: list[CellSpec], jobs: int, on_done: Callable[[dict], None]) -> list[dict]:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    rows: list[dict | None] = [None] * len(specs)
    if jobs <= 1:
        # In-process: no spawn cost, and the test suite can see coverage/errors directly.
        for i, s in enumerate(specs):
            rows[i] = run_cell(s)
            on_done(rows[i])
        return rows  # type: ignore[return-value]
    # spawn: a forked child would inherit torch's thread pools and any open plotting state.
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool:
        futs = {pool.submit(run_cell, s): i for i, s in enumerate(specs)}
        for fut in as_completed(futs):
            i = futs[fut]
            try:
                rows[i] = fut.result()
            except Exception as exc:  # noqa: BLE001 - a worker died (e.g. out of memory)
                rows[i] = {**specs[i].params, "cell": Path(specs[i].folder).name, "status": STATUS_ERROR,
                           "error": f"worker failed: {type(exc).__name__}: {exc}", "folder": "", "skipped": False}
            on_done(rows[i])
    return rows  # type: ignore[return-value]


def _run_ray(specs: list[CellSpec], address: str | None, on_done: Callable[[dict], None],
             ray_init: dict[str, Any] | None = None, cell_memory_gb: float | None = None) -> list[dict]:
    try:
        import ray
    except ImportError:
        raise SweepInputError("--engine ray needs Ray: pip install 'vppsim[ray]'") from None
    started_here = not ray.is_initialized()
    if started_here:
        kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
        if address:
            kw["address"] = address
        kw.update(ray_init or {})
        ray.init(**kw)
    try:
        # memory= is a scheduling reservation: Ray places no more cells on a node than fit its RAM.
        opts: dict[str, Any] = {"num_cpus": 1, "max_retries": 0}
        if cell_memory_gb:
            opts["memory"] = int(cell_memory_gb * 2**30)
        task = ray.remote(**opts)(run_cell)
        refs = [task.remote(s) for s in specs]
        index = {r: i for i, r in enumerate(refs)}
        rows: list[dict | None] = [None] * len(specs)
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for r in ready:
                i = index[r]
                try:
                    rows[i] = ray.get(r)
                except Exception as exc:  # noqa: BLE001 - the task's worker died
                    rows[i] = {**specs[i].params, "cell": Path(specs[i].folder).name, "status": STATUS_ERROR,
                               "error": f"ray task failed: {type(exc).__name__}: {exc}"[-2000:], "folder": "",
                               "skipped": False}
                on_done(rows[i])
        return rows  # type: ignore[return-value]
    finally:
        if started_here:
            ray.shutdown()


# ------------------------------------------------------------------ the sweep
def run_sweep(
    scenario: str,
    grid: dict[str, list[Any]],
    out: Path,
    *,
    engine: str = "local",
    address: str | None = None,
    steps: int | None = None,
    jobs: int | None = None,
    threads: int = 1,
    plots: bool = True,
    run_plots: bool = False,
    progress: bool = True,
    ray_init: dict[str, Any] | None = None,
    cell_memory_gb: float | None = None,
) -> pd.DataFrame:
    """Run every cell of ``grid`` and write the tidy table and the plots.

    Args:
        scenario: bundled name or path.
        grid: ``{key: [values]}`` (see :func:`parse_grid`).
        out: the sweep folder.
        engine: ``local`` (process pool) or ``ray``.
        address: Ray cluster address (``ray`` engine; None starts Ray locally).
        steps: stop each run after this many periods.
        jobs: local worker processes (default: min(cells, CPUs)); 1 runs in this process.
        threads: torch threads per cell.
        plots: write one PNG per metric.
        run_plots: write each run's own PNG plots too.
        progress: report progress on stderr.
        ray_init: extra keyword arguments of ``ray.init`` (tests limit CPUs).
        cell_memory_gb: memory Ray reserves per cell (``ray`` engine; see docs/scaling.md).

    Returns:
        The table (also written to ``out/sweep.csv`` and ``out/sweep.parquet``).

    Raises:
        SweepInputError: unknown engine.
        ScenarioError: the scenario itself does not resolve.
    """

    from .progress import progress_bar
    from .schema import resolve

    resolve(scenario)  # an unknown scenario is bad input, not N failed cells
    if engine not in ("local", "ray"):
        raise SweepInputError(f"--engine must be local or ray, got {engine!r}")
    out = Path(out)
    (out / "cells").mkdir(parents=True, exist_ok=True)
    cells = expand_grid(grid)
    specs = [CellSpec(str(scenario), p, str((out / "cells" / cell_id(p)).resolve()), steps, threads, run_plots)
             for p in cells]
    t0 = time.perf_counter()
    with progress_bar(total=len(specs), desc=f"sweep {Path(str(scenario)).stem}", unit="cell",
                      disable=not progress, delay=0.0) as bar:
        def on_done(row: dict) -> None:
            bar.update(1)

        if engine == "local":
            n = jobs if jobs is not None else min(len(specs), os.cpu_count() or 1)
            rows = _run_local(specs, max(1, n), on_done)
        else:
            rows = _run_ray(specs, address, on_done, ray_init, cell_memory_gb)
    table = _table(rows, list(grid), engine)
    table.attrs["sweep_wall_s"] = time.perf_counter() - t0
    write_table(table, out)
    _write_json_atomic(out / "sweep.json", {
        "scenario": str(scenario), "grid": grid, "engine": engine, "steps": steps,
        "cells": len(specs), "ok": int((table["status"] == STATUS_OK).sum()),
        "failed": int((table["status"] != STATUS_OK).sum()), "wall_s": table.attrs["sweep_wall_s"],
    })
    if plots:
        write_plots(table, list(grid), out / "plots")
    return table


def _table(rows: Iterable[dict], keys: list[str], engine: str) -> pd.DataFrame:
    import pandas as pd

    df = pd.DataFrame(list(rows))
    df["engine"] = engine
    first = [*keys, "cell", "status", "error"]
    tail = ["run_wall_s", "wall_s", "skipped", "folder", "engine"]
    for c in first + tail:
        if c not in df:
            df[c] = pd.NA if c != "error" else ""
    metrics = sorted(c for c in df.columns if c not in first and c not in tail)
    df["error"] = df["error"].fillna("").astype(str)
    return df[first + metrics + tail]


def write_table(table: pd.DataFrame, out: Path) -> None:
    """``sweep.csv`` and ``sweep.parquet``, each written atomically (:func:`aggregation.io.atomic_write`)."""
    from aggregation.io import atomic_write, write_text

    write_text(out / "sweep.csv", table.to_csv(index=False))
    t = table.copy()
    # Parameter columns may mix ints and strings across cells; parquet wants one type.
    for c in t.columns:
        if t[c].dtype == object:
            t[c] = t[c].map(lambda v: v if v is None or isinstance(v, str) else str(v))
    atomic_write(out / "sweep.parquet", lambda fh: t.to_parquet(fh, index=False))


def metric_columns(table: pd.DataFrame, keys: Sequence[str]) -> list[str]:
    """The numeric result columns (everything numeric that is not a parameter or bookkeeping)."""
    import pandas as pd

    skip = set(keys) | {"cell", "status", "error", "folder", "engine", "skipped"}
    return [c for c in table.columns if c not in skip and pd.api.types.is_numeric_dtype(table[c])]


def write_plots(table: pd.DataFrame, keys: Sequence[str], folder: Path) -> list[Path]:
    """One PNG per metric: the metric against the first parameter, one line per other combination."""
    import matplotlib
    import pandas as pd

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    ok = table[table["status"] == STATUS_OK]
    # List-valued parameters: a one-element list (grid.sweep_agents=[56]) is its value, so
    # Fig. 10's agent counts plot on a numeric axis; longer lists are labels.
    def scalar(v: Any) -> Any:
        if isinstance(v, list):
            return v[0] if len(v) == 1 else str(v)
        return v

    ok = ok.assign(**{k: ok[k].map(scalar) for k in keys if k in ok})
    ok = ok.assign(**{k: pd.to_numeric(ok[k]) for k in keys
                      if k in ok and ok[k].map(lambda v: isinstance(v, int | float) and not isinstance(v, bool)).all()})
    paths: list[Path] = []
    if ok.empty or not keys:
        return paths
    x, rest = keys[0], list(keys[1:])
    numeric_x = pd.api.types.is_numeric_dtype(ok[x])
    groups = ok.groupby(rest, sort=False, dropna=False) if rest else [((), ok)]
    for metric in metric_columns(ok, keys):
        fig, ax = plt.subplots(figsize=(6, 4))
        for g, sub in groups:
            g = g if isinstance(g, tuple) else (g,)
            label = ", ".join(f"{k}={v}" for k, v in zip(rest, g, strict=True)) or metric
            sub = sub.sort_values(x) if numeric_x else sub
            ax.plot(sub[x] if numeric_x else sub[x].astype(str), sub[metric], marker="o", label=label)
        if numeric_x and (ok[x] >= 0).all():
            pos = ok.loc[ok[x] > 0, x]
            if len(pos) and pos.max() / pos.min() >= 100:
                # Agent counts 0, 56 … 10^6: log spacing, with 0 kept (symlog) when present.
                if (ok[x] == 0).any():
                    ax.set_xscale("symlog", linthresh=float(pos.min()))
                else:
                    ax.set_xscale("log")
        ax.set_xlabel(x)
        ax.set_ylabel(metric)
        ax.set_title(metric, fontsize=9)
        if rest:
            ax.legend(fontsize=7)
        fig.tight_layout()
        path = folder / (re.sub(r"[^A-Za-z0-9_.=\-]", "_", metric) + ".png")
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths


# ------------------------------------------------------------------ CLI
def _cmd_sweep(args: argparse.Namespace) -> int:
    from .progress import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, configure, emit_json

    configure(quiet=args.quiet or args.json)
    scenario = args.scenario
    out = Path(args.out) if args.out else Path("sweeps") / Path(scenario).stem
    try:
        grid = parse_grid(args.grid or [])
        table = run_sweep(scenario, grid, out, engine=args.engine, address=args.address, steps=args.steps,
                          jobs=args.jobs, threads=args.threads, plots=not args.no_plots,
                          cell_memory_gb=args.cell_memory_gb,
                          progress=not (args.quiet or args.json))
    except SweepInputError as exc:
        if args.json:
            emit_json("sweep", status="error", exit_code=EXIT_BAD_INPUT, error=str(exc))
        else:
            print(f"error: {exc}", file=__import__("sys").stderr)
        return EXIT_BAD_INPUT
    failed = table[table["status"] != STATUS_OK]
    code = EXIT_FAILURE if len(failed) else EXIT_OK
    if args.json:
        emit_json("sweep", status="ok" if code == EXIT_OK else "error", exit_code=code, scenario=scenario,
                  out=out, table=out / "sweep.csv", cells=len(table), failed=len(failed),
                  skipped=int(table["skipped"].fillna(False).astype(bool).sum()),
                  wall_s=table.attrs.get("sweep_wall_s"), engine=args.engine,
                  errors={r["cell"]: r["error"] for _, r in failed.iterrows()})
    elif not args.quiet:
        cols = [c for c in [*grid, "status", "wall_s"] if c in table]
        print(table[cols].to_string(index=False, float_format=lambda v: f"{v:,.3g}"))
        for _, r in failed.iterrows():
            print(f"cell {r['cell']} failed: {r['error'].splitlines()[-1] if r['error'] else '?'}")
        print(f"\n{len(table) - len(failed)}/{len(table)} cells ok; table: {out / 'sweep.csv'}")
    return code


def add_sweep_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``vppsim sweep`` to the CLI's subparsers (``scenarios.cli.build_parser`` calls it)."""
    from .progress import add_output_flags

    s = subparsers.add_parser("sweep", help="run the cross product of scenario overrides (local pool or Ray)")
    s.add_argument("scenario", help="scenario file or bundled name")
    s.add_argument("--grid", action="append", metavar="KEY=V1,V2,...",
                   help="a swept field (repeatable): seed, scale, method, or a dotted path")
    s.add_argument("--engine", choices=["local", "ray"], default="local")
    s.add_argument("--address", default=None, help="Ray cluster address (default: start Ray locally)")
    s.add_argument("--out", default=None, help="sweep folder (default sweeps/<scenario>); re-running resumes it")
    s.add_argument("--steps", type=int, default=None, help="stop each run after this many periods")
    s.add_argument("--jobs", type=int, default=None, help="local worker processes (default: min(cells, CPUs))")
    s.add_argument("--threads", type=int, default=1, help="torch threads per cell")
    s.add_argument("--cell-memory-gb", type=float, default=None,
                   help="Ray: memory reserved per cell (about 3 GB per 1,000,000 DERs; docs/scaling.md)")
    s.add_argument("--no-plots", action="store_true", help="no per-metric PNGs")
    add_output_flags(s)
    s.set_defaults(func=_cmd_sweep)
    return s


def cell_rows_equal(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Whether two sweep tables agree on everything but the wall-time and bookkeeping columns."""

    cols = [c for c in a.columns if c not in WALL_COLUMNS]
    if sorted(cols) != sorted(c for c in b.columns if c not in WALL_COLUMNS):
        return False
    return a[cols].reset_index(drop=True).equals(b[cols].reset_index(drop=True))


def spec_dict(spec: CellSpec) -> dict[str, Any]:
    """A cell spec as plain data (logs, debugging)."""
    return asdict(spec)

"""Progress and machine-readable output of the CLI, fit for terminals and for logs.

On a terminal, progress is a tqdm bar. In a log (CI, batch jobs, ``> run.log``)
a bar redrawn per update becomes one line per update, so there progress is one
plain line every ``every_s`` seconds (``VPPSIM_PROGRESS_EVERY``, default 30 s)
plus a final line. ``--quiet`` silences progress, ``--json`` prints one JSON
document on stdout (progress stays on stderr so stdout remains parseable).

Exit codes of every ``vppsim`` command: :data:`EXIT_OK` (0), :data:`EXIT_FAILURE`
(1, the run failed), :data:`EXIT_BAD_INPUT` (2, bad scenario/arguments).

Usage (a drop-in for the subset of tqdm the pipelines use)::

    with progress_bar(total=n, desc=sc.name, unit="period", disable=not ctx.progress) as bar:
        for ...:
            bar.update(1)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Mapping
from typing import IO, Any, Literal

from aggregation.io import to_jsonable  # re-exported: the one JSON conversion of the project

__all__ = [
    "EXIT_BAD_INPUT", "EXIT_FAILURE", "EXIT_OK", "LineProgress", "add_output_flags", "configure", "emit_json",
    "json_summary", "progress_bar", "quiet_tqdm_in_logs", "run_fields", "to_jsonable",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2

Mode = Literal["auto", "bar", "lines", "off"]

# Process-wide settings: the CLI sets them once from --quiet/--json, so pipelines that only
# know "progress: bool" need no new parameter.
_settings: dict[str, Any] = {"quiet": False, "mode": "auto", "every_s": None}


def configure(*, quiet: bool | None = None, mode: Mode | None = None, every_s: float | None = None) -> None:
    """Set the process-wide progress behaviour (called once by the CLI).

    Args:
        quiet: no progress output at all.
        mode: ``auto`` (bar on a terminal, lines otherwise), ``bar``, ``lines`` or ``off``.
        every_s: seconds between lines in ``lines`` mode.
    """
    if quiet is not None:
        _settings["quiet"] = bool(quiet)
    if mode is not None:
        if mode not in ("auto", "bar", "lines", "off"):
            raise ValueError(f"mode must be auto, bar, lines or off, got {mode!r}")
        _settings["mode"] = mode
    if every_s is not None:
        if every_s <= 0:
            raise ValueError(f"every_s must be > 0, got {every_s}")
        _settings["every_s"] = float(every_s)


class _LinesFile:
    """A text stream wrapper that turns tqdm's ``\\r`` redraws into one plain line each.

    tqdm redraws a bar in place with a leading carriage return; in a log file that piles
    every redraw onto one ever-growing physical line. Each status string becomes its own
    line here; empty writes (tqdm's clears and final newline) are dropped.
    """

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, s: str) -> int:
        text = s.replace("\r", "").strip()
        if text:
            self._stream.write(text + "\n")
        return len(s)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def quiet_tqdm_in_logs(stream: IO[str] | None = None) -> bool:
    """Make tqdm bars created elsewhere (learners, third-party code) print a plain line every N s in logs.

    Code outside :mod:`scenarios` cannot use :func:`progress_bar` (dependencies flow one
    way). tqdm reads ``TQDM_<ARG>`` environment defaults only when it is first imported,
    which has happened by the time the CLI runs, so tqdm's constructor is wrapped to
    default ``mininterval``/``maxinterval`` to ``every_s`` (explicit arguments win) and to
    write through :class:`_LinesFile`, so each redraw is one line instead of a ``\\r``
    overwrite. The environment variables are set too, for child processes.

    Returns:
        True when the stream is not a terminal and the defaults were set.
    """
    stream = stream if stream is not None else sys.stderr
    if _is_terminal(stream) or _settings["mode"] == "bar":
        return False
    every = _every_s()
    os.environ.setdefault("TQDM_MININTERVAL", f"{every:g}")
    os.environ.setdefault("TQDM_MAXINTERVAL", f"{max(every, 10.0):g}")
    import tqdm.std

    cls = tqdm.std.tqdm
    if not getattr(cls.__init__, "_vppsim_logs", False):
        orig = cls.__init__

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("mininterval", float(os.environ.get("TQDM_MININTERVAL", every)))
            kwargs.setdefault("maxinterval", float(os.environ.get("TQDM_MAXINTERVAL", max(every, 10.0))))
            target = kwargs.get("file") or sys.stderr
            if not isinstance(target, _LinesFile) and not _is_terminal(target):
                kwargs["file"] = _LinesFile(target)
            kwargs.setdefault("ncols", 100)  # no terminal to size against
            kwargs.setdefault("ascii", True)
            orig(self, *args, **kwargs)

        __init__._vppsim_logs = True  # type: ignore[attr-defined]
        cls.__init__ = __init__  # type: ignore[method-assign]
    return True


def _every_s() -> float:
    if _settings["every_s"] is not None:
        return float(_settings["every_s"])
    raw = os.environ.get("VPPSIM_PROGRESS_EVERY", "")
    try:
        v = float(raw)
        return v if v > 0 else 30.0
    except ValueError:
        return 30.0


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or exotic streams (pytest capture)
        return False


def _fmt_s(s: float) -> str:
    s = max(0.0, s)
    if s < 60:
        return f"{s:.0f}s"
    m, s = divmod(int(s), 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


class LineProgress:
    """Progress as plain lines, at most one every ``every_s`` seconds, for logs.

    Mirrors the part of tqdm's interface used here (``update``, ``set_postfix``,
    ``close``, ``n``, ``total``, context manager).

    Args:
        total: expected number of updates (None: unknown).
        desc: what is progressing.
        unit: the unit of one update.
        every_s: minimum seconds between two lines.
        stream: where lines go (default stderr, keeping stdout for results/JSON).
        delay: print nothing for a run that ends within this many seconds.
        clock: time source (tests pass a fake).
    """

    def __init__(
        self,
        total: int | None = None,
        desc: str = "",
        unit: str = "it",
        *,
        every_s: float = 30.0,
        stream: IO[str] | None = None,
        delay: float = 0.0,
        clock: Any = time.monotonic,
    ):
        self.total, self.desc, self.unit = total, desc, unit
        self.every_s, self.delay = float(every_s), float(delay)
        self.stream = stream if stream is not None else sys.stderr
        self._clock = clock
        self.n = 0
        self.postfix = ""
        self._t0 = clock()
        self._last_print = self._t0
        self.lines_printed = 0
        self._closed = False

    def update(self, n: int = 1) -> None:
        """Count ``n`` more units; print a line when ``every_s`` has passed since the last one."""
        self.n += n
        now = self._clock()
        if now - self._t0 >= self.delay and now - self._last_print >= self.every_s:
            self._print(now)

    def set_postfix(self, ordered_dict: Mapping[str, Any] | None = None, refresh: bool = True, **kw: Any) -> None:
        """Extra ``key=value`` fields shown at the end of the next line."""
        items = {**(ordered_dict or {}), **kw}
        self.postfix = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in items.items())

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        self.desc = desc or ""

    def refresh(self) -> None:  # tqdm compatibility; lines are printed on their own schedule
        pass

    def line(self, now: float | None = None) -> str:
        """The progress line as it would be printed now."""
        now = self._clock() if now is None else now
        el = now - self._t0
        rate = self.n / el if el > 0 else 0.0
        if self.total:
            pct = 100.0 * self.n / self.total
            eta = (self.total - self.n) / rate if rate > 0 else math.inf
            eta_s = _fmt_s(eta) if math.isfinite(eta) else "?"
            text = f"{self.desc}: {self.n}/{self.total} {self.unit} ({pct:.0f}%) elapsed {_fmt_s(el)} eta {eta_s}"
        else:
            text = f"{self.desc}: {self.n} {self.unit} elapsed {_fmt_s(el)}"
        if rate > 0:
            text += f" ({rate:.3g} {self.unit}/s)"
        if self.postfix:
            text += f" [{self.postfix}]"
        return text

    def _print(self, now: float) -> None:
        print(self.line(now), file=self.stream, flush=True)
        self._last_print = now
        self.lines_printed += 1

    def close(self) -> None:
        """Print the final line (unless the whole thing took less than ``delay``)."""
        if self._closed:
            return
        self._closed = True
        now = self._clock()
        if now - self._t0 >= self.delay and self.n > 0:
            self._print(now)

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Off:
    """A progress object that shows nothing."""

    n = 0
    total = None

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix(self, *a: Any, **kw: Any) -> None:
        pass

    def set_description(self, *a: Any, **kw: Any) -> None:
        pass

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _Off:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def progress_bar(
    total: int | None = None,
    desc: str = "",
    unit: str = "it",
    *,
    disable: bool = False,
    delay: float = 2.0,
    initial: int = 0,
    stream: IO[str] | None = None,
    mode: Mode | None = None,
    every_s: float | None = None,
) -> Any:
    """A tqdm bar on a terminal, :class:`LineProgress` in a log, or nothing.

    Args:
        total: expected number of updates.
        desc: label.
        unit: unit of one update.
        disable: show nothing (the caller's ``progress=False``).
        delay: seconds before anything is shown (short runs stay silent).
        initial: units already done (resumed runs).
        stream: output stream (default stderr).
        mode: override of the process-wide mode (:func:`configure`).
        every_s: override of the seconds between lines.
    """
    mode = mode or _settings["mode"]
    if disable or _settings["quiet"] or mode == "off":
        off = _Off()
        off.n = initial
        return off
    stream = stream if stream is not None else sys.stderr
    if mode == "bar" or (mode == "auto" and _is_terminal(stream)):
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit, delay=delay, initial=initial, file=stream)
    lp = LineProgress(total, desc, unit, every_s=every_s or _every_s(), stream=stream, delay=delay)
    lp.n = initial
    return lp


# ------------------------------------------------------------------ JSON output
def json_summary(command: str, *, status: str = "ok", exit_code: int = EXIT_OK, **fields: Any) -> str:
    """The ``--json`` document of a command: one object, keys sorted, NaN as null.

    Args:
        command: ``run``, ``train``, ``bench`` or ``sweep``.
        status: ``ok`` or ``error``.
        exit_code: the process exit code that accompanies it.
        **fields: command-specific fields (scenario, folder, wall_s, summary, error …).

    Returns:
        A single-line JSON text.
    """
    doc = {"command": command, "status": status, "exit_code": int(exit_code), **fields}
    return json.dumps(to_jsonable(doc), sort_keys=True, allow_nan=False)


def emit_json(command: str, *, stream: IO[str] | None = None, **kw: Any) -> None:
    """Print :func:`json_summary` on stdout (or ``stream``) and flush."""
    print(json_summary(command, **kw), file=stream if stream is not None else sys.stdout, flush=True)


def run_fields(out: Any) -> dict[str, Any]:
    """The ``--json`` fields of a finished ``vppsim run`` (a pipelines ``RunOutput``)."""
    summary = getattr(out, "summary", None)
    table = {}
    if summary is not None and hasattr(summary, "to_dict"):
        table = summary.to_dict()  # {label: {indicator: value}}
    sc = getattr(out, "scenario", None)
    return {
        "scenario": getattr(sc, "name", None),
        "seed": getattr(sc, "seed", None),
        "folder": getattr(out, "folder", None),
        "wall_s": getattr(out, "wall_s", None),
        "summary": table,
    }


def add_output_flags(parser: argparse.ArgumentParser) -> None:
    """Add ``--quiet`` and ``--json`` to a subcommand parser (run, train, bench, sweep)."""
    if not any("--quiet" in a.option_strings for a in parser._actions):
        parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON summary on stdout (progress goes to stderr); implies no bar")

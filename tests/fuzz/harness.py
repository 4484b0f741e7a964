"""Run fuzz cases through ``vppsim validate`` (in-process) or the YAML reader, and classify the outcome."""

from __future__ import annotations

import contextlib
import io
import signal
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from mutators import Case

# A validate that takes more CPU time than this is a failure; one slower than
# HANG_S of wall time is stopped (SIGALRM) and counted as a hang. CPU time, not
# wall time, for the 2 s rule: CI machines and this 2-core box run other jobs
# beside the suite, and a loaded machine must not make the fuzzer flaky.
MAX_VALIDATE_S = 2.0
HANG_S = 10.0


@dataclass
class Outcome:
    """What one CLI call did."""

    case: Case
    exit_code: int | None
    seconds: float  # CPU time of the call
    stdout: str = ""
    stderr: str = ""
    escaped: str | None = None  # "ExcType: message" of an exception that left main()
    hang: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def traceback(self) -> bool:
        return self.escaped is not None or "Traceback" in self.stderr


class _Hang(BaseException):
    """Raised by the alarm; a BaseException so that `except Exception` in the code under test cannot eat it."""


def _alarm(signum, frame):  # noqa: ARG001 - signal handler signature
    raise _Hang()


def call_cli(argv: list[str], limit_s: float = HANG_S) -> tuple[int | None, str, str, str | None, bool, float]:
    """``scenarios.cli.main(argv)`` with captured output, a wall-time limit and no exception escaping.

    Returns:
        ``(exit code, stdout, stderr, escaped exception or None, hang, CPU seconds)``.
    """
    from scenarios.cli import main

    out, err = io.StringIO(), io.StringIO()
    code: int | None = None
    escaped: str | None = None
    hang = False
    use_alarm = hasattr(signal, "setitimer")
    if use_alarm:
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, limit_s)
    t0 = time.process_time()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except _Hang:
        hang = True
    except SystemExit as exc:  # argparse
        code = exc.code if isinstance(exc.code, int) else 2
    except BaseException as exc:  # noqa: BLE001 - the point is to catch anything that escapes
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
        escaped = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}{where}"
    finally:
        seconds = time.process_time() - t0
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    return code, out.getvalue(), err.getvalue(), escaped, hang, seconds


def validate_case(case: Case, folder: Path, index: int = 0) -> Outcome:
    """Write the case to ``folder`` and run ``vppsim validate`` on it; ``problems`` lists every violated rule."""
    path = folder / f"case_{index:05d}_{case.kind}.yaml"
    path.write_bytes(case.data)
    code, out, err, escaped, hang, seconds = call_cli(["validate", str(path)])
    o = Outcome(case, code, seconds, out, err, escaped, hang)
    if hang:
        o.problems.append(f"hang (> {HANG_S:g} s)")
    elif seconds > MAX_VALIDATE_S:
        o.problems.append(f"slow: {seconds:.2f} s of CPU")
    if o.traceback:
        o.problems.append(f"traceback: {escaped or 'in stderr'}")
    elif not hang and code not in (0, 2):
        o.problems.append(f"exit code {code}")
    if code == 0 and case.must_reject is True:
        o.problems.append("invalid file accepted")
    if code == 2 and case.must_reject is False:
        o.problems.append(f"valid file rejected: {err.strip()[:200]}")
    if code == 2 and not err.strip():
        o.problems.append("exit 2 without a message")
    return o


def reader_case(case: Case) -> list[str]:
    """Run the bounded YAML reader alone on a case; the rules a YAML-level case must satisfy."""
    from scenarios.errors import ScenarioError
    from scenarios.yamlsafe import parse_scenario_yaml

    problems: list[str] = []
    t0 = time.process_time()
    try:
        parse_scenario_yaml(case.data, "case.yaml")
        if case.must_reject and case.layer == "yaml":
            problems.append("reader accepted a YAML-level fault")
    except ScenarioError as exc:
        msg = str(exc)
        if "\n" in msg or not msg.startswith("case.yaml: "):
            problems.append(f"not a one-line message naming the file: {msg[:200]!r}")
    except BaseException as exc:  # noqa: BLE001
        problems.append(f"escaped: {type(exc).__name__}: {exc}"[:200])
    seconds = time.process_time() - t0
    if seconds > 1.0:
        problems.append(f"slow: {seconds:.2f} s")
    return problems

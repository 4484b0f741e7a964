"""The CLI's progress reporter and JSON summary (scenarios.progress)."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd

from scenarios import progress as pg


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_lines_every_n_seconds_not_per_update():
    clock, out = FakeClock(), io.StringIO()
    bar = pg.LineProgress(total=1000, desc="run", unit="period", every_s=10.0, stream=out, clock=clock)
    for _ in range(1000):  # 1000 updates over 50 s: one line per 10 s, not 1000 lines
        clock.t += 0.05
        bar.update(1)
    bar.close()
    lines = out.getvalue().splitlines()
    assert 4 <= len(lines) <= 6, lines
    assert lines[-1].startswith("run: 1000/1000 period (100%)")
    assert "eta" in lines[0] and "period/s" in lines[0]


def test_short_run_within_delay_prints_nothing():
    clock, out = FakeClock(), io.StringIO()
    with pg.LineProgress(total=3, desc="x", every_s=1.0, stream=out, delay=2.0, clock=clock) as bar:
        for _ in range(3):
            clock.t += 0.1
            bar.update()
    assert out.getvalue() == ""


def test_progress_bar_chooses_lines_off_terminal_and_respects_quiet():
    out = io.StringIO()  # not a terminal
    bar = pg.progress_bar(total=5, desc="d", stream=out, delay=0.0)
    assert isinstance(bar, pg.LineProgress)
    bar.update(5)
    bar.close()
    assert "d: 5/5" in out.getvalue()
    assert not isinstance(pg.progress_bar(total=5, disable=True), pg.LineProgress)
    try:
        pg.configure(quiet=True)
        quiet = pg.progress_bar(total=5, stream=io.StringIO())
        quiet.update(2)
        assert not isinstance(quiet, pg.LineProgress) and quiet.n == 2
    finally:
        pg.configure(quiet=False)


def test_progress_bar_uses_tqdm_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    bar = pg.progress_bar(total=2, stream=Tty())
    assert type(bar).__module__.startswith("tqdm")
    bar.close()


def test_postfix_and_unknown_total():
    clock, out = FakeClock(), io.StringIO()
    bar = pg.LineProgress(desc="train", unit="ep", every_s=1.0, stream=out, clock=clock)
    bar.set_postfix(loss=0.123456, eps=3)
    clock.t = 2.0
    bar.update(4)
    assert out.getvalue().strip() == "train: 4 ep elapsed 2s (2 ep/s) [loss=0.1235, eps=3]"


def test_json_summary_is_strict_json():
    df = pd.DataFrame({"baseline": [1.0, math.nan]}, index=["a", "b"])
    text = pg.json_summary("run", scenario="s", wall_s=np.float64(1.5), n=np.int64(3),
                           summary=df["baseline"], arr=np.arange(2), bad=math.inf)
    doc = json.loads(text)
    assert doc == {"command": "run", "status": "ok", "exit_code": 0, "scenario": "s", "wall_s": 1.5, "n": 3,
                   "summary": {"a": 1.0, "b": None}, "arr": [0, 1], "bad": None}
    assert "\n" not in text
    err = json.loads(pg.json_summary("sweep", status="error", exit_code=pg.EXIT_BAD_INPUT, error="x"))
    assert err["exit_code"] == 2 and err["status"] == "error"
    assert (pg.EXIT_OK, pg.EXIT_FAILURE, pg.EXIT_BAD_INPUT) == (0, 1, 2)


def test_add_output_flags():
    import argparse

    p = argparse.ArgumentParser()
    pg.add_output_flags(p)
    a = p.parse_args(["--json", "--quiet"])
    assert a.json and a.quiet


def test_quiet_tqdm_in_logs(monkeypatch):
    monkeypatch.delenv("TQDM_MININTERVAL", raising=False)
    monkeypatch.delenv("TQDM_MAXINTERVAL", raising=False)
    monkeypatch.setenv("VPPSIM_PROGRESS_EVERY", "12")
    import tqdm.std

    monkeypatch.setattr(tqdm.std.tqdm, "__init__", tqdm.std.tqdm.__init__)  # undone after the test
    assert pg.quiet_tqdm_in_logs(io.StringIO())
    import os

    assert os.environ["TQDM_MININTERVAL"] == "12"
    from tqdm import tqdm

    log = io.StringIO()
    bar = tqdm(total=3, file=log, mininterval=0, maxinterval=0, miniters=1, desc="train")
    assert bar.mininterval == 0
    for _ in range(3):
        bar.update(1)
    bar.close()
    text = log.getvalue()
    assert "\r" not in text  # no in-place redraws in a log
    lines = [ln for ln in text.splitlines() if ln]
    assert len(lines) >= 2 and all(ln.startswith("train") for ln in lines)
    assert "3/3" in lines[-1]
    assert tqdm(total=1, file=io.StringIO()).mininterval == 12


def test_run_fields():
    class Out:
        scenario = type("S", (), {"name": "x", "seed": 3})()
        folder = None
        wall_s = 1.25
        summary = pd.DataFrame({"baseline": [1.0]}, index=["energy_mwh"])

    doc = json.loads(pg.json_summary("run", **pg.run_fields(Out())))
    assert doc["scenario"] == "x" and doc["summary"] == {"baseline": {"energy_mwh": 1.0}}

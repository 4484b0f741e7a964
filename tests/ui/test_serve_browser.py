"""``vppsim serve`` in a real browser: start the server, step the day in headless Chromium, read the page.

Needs Debian's ``chromium`` (``/usr/bin/chromium``; no browser download), the
Playwright Python package and the ``vppsim[viz]`` extra; without them the test
skips and says which is missing. Set ``VPPSIM_DOCS_SCREENSHOT=1`` to also copy
the screenshot to ``docs/img/serve.png``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from scenarios import serve

CHROMIUM = os.environ.get("VPPSIM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SERVER_START_S = 180  # imports, the first model build; bounded so a hung server fails the test
# Four periods: coalitions exist by then (the night's first period and the early morning have
# some); the docs screenshot steps to midday.
DOCS = os.environ.get("VPPSIM_DOCS_SCREENSHOT") == "1"
STEPS = 12 if DOCS else 4


def _why_skip() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium chromium-driver)"
    if importlib.util.find_spec("playwright") is None:
        return "the Playwright Python package is not installed (pip install 'vppsim[uitest]')"
    return serve.viz_missing()


needs_browser = pytest.mark.skipif(_why_skip() is not None, reason=_why_skip() or "")


@pytest.fixture
def server(tmp_path):
    """The page on a free localhost port; yields its URL, stops the server afterwards."""
    port = serve.free_port()
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - closed in the finally below
    env = {**os.environ, "VPPSIM_SERVE_SCENARIO": "three_parks_560", "VPPSIM_SERVE_SCALE": "file"}
    proc = subprocess.Popen(serve.server_command("127.0.0.1", port), env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"server exited with {proc.returncode}:\n{(tmp_path / 'server.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server did not answer within {SERVER_START_S} s")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()


@needs_browser
def test_step_the_day_in_chromium(server, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1300})
            page_errors: list[str] = []
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.goto(server, timeout=120_000)
            status = page.locator(".vpp-status")
            status.wait_for(timeout=180_000)
            assert status.get_attribute("data-period") == "0"
            assert status.get_attribute("data-ders") == "560"

            step = page.get_by_role("button", name="Step")
            nets, times = [], []
            for k in range(1, STEPS + 1):
                t0 = time.perf_counter()
                step.click()
                page.wait_for_function(
                    f"document.querySelector('.vpp-status')?.dataset.period === '{k}'", timeout=120_000)
                times.append(time.perf_counter() - t0)
                nets.append(float(status.get_attribute("data-net-kw")))
            print(f"click-to-update seconds per step: {[round(t, 2) for t in times]}")

            # Values change from period to period, and the page reads as the model says.
            assert len(set(nets)) > 1, nets
            assert status.get_attribute("data-hour") == f"{float(STEPS)}"
            assert f"period {STEPS} / 24" in status.inner_text()
            # The hierarchy drawing is there (a rendered image) and the period has coalitions.
            img = page.locator(".vpp-hierarchy img").first
            img.wait_for(timeout=60_000)
            page.wait_for_function(
                "(() => { const i = document.querySelector('.vpp-hierarchy img');"
                " return i && i.complete && i.naturalWidth > 100; })()", timeout=60_000)
            assert int(status.get_attribute("data-aggregators")) > 0
            for css in (".vpp-park-load img", ".vpp-load-by-kind img", ".vpp-temperature img"):
                assert page.locator(css).count() == 1, css
            # No error element, no Python traceback shown, no script error.
            assert page.locator(".v-alert.error, .error--text, .solara-error").count() == 0
            body = page.inner_text("body")
            assert "Traceback" not in body and "error in step" not in body
            assert not page_errors, page_errors

            shot = tmp_path / "serve.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 20_000
            if DOCS:
                dest = Path(__file__).resolve().parents[2] / "docs" / "img" / "serve.png"
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(shot, dest)
        finally:
            browser.close()


def test_serve_parser_and_missing_viz_message():
    import argparse

    p = argparse.ArgumentParser()
    serve.add_serve_parser(p.add_subparsers(dest="command"))
    a = p.parse_args(["serve", "three_parks_56000", "--scale", "1", "--port", "0"])
    assert a.scenario == "three_parks_56000" and a.scale == "1" and a.func is not None
    cmd = serve.server_command("127.0.0.1", 1234)
    assert "scenarios.serve_app" in cmd and "--production" in cmd


def test_page_model_and_figures_without_a_browser():
    """What the page draws, without a web stack: the model steps and every figure renders."""
    import io

    m = serve.ServeModel("three_parks_560", "file")
    assert m.main.fleet.n_ders == 560 and m.base is not None and m.dispatch is None
    assert serve.status(m)["period"] == 0
    for f in serve.render_all(m).values():  # empty day: every figure still draws
        if f is not None:
            f.savefig(io.BytesIO(), format="png")
    for _ in range(2):
        m.step()
    s = serve.status(m)
    assert s["period"] == 2 and s["net_kw"] > 0 and s["step_s"] > 0
    figs = serve.render_all(m)
    assert figs["dispatch"] is None
    for name, f in figs.items():
        if f is not None:
            buf = io.BytesIO()
            f.savefig(buf, format="png")
            assert buf.tell() > 5_000, name
    rows = serve._icicle_rows(m.organiser)
    assert [r[0] for r in rows] == list(range(m.organiser.levels, 0, -1))
    for _, x0, w, _, _ in rows:  # every level tiles the controllable DERs exactly
        assert w.sum() == len(m.organiser.labels[0])
        order = x0.argsort()
        assert (x0[order][1:] == (x0 + w)[order][:-1]).all()

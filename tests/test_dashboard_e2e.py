"""The dashboard in a real browser: ``python -m analysis.dashboard.serve dashboard.port=N`` on a free
localhost port, driven with headless Chromium (Debian's ``chromium``) through Playwright.

It steps and plays the model, picks a lesson, moves a slider and resets, fires a shock, and
checks that the counters and the charts change; it also checks that the page loads nothing
from outside 127.0.0.1 (offline) and gets no HTTP errors. The screenshot goes to the test's tmp
dir. Skipped only when Chromium or Playwright is missing *and* ``CI`` is not set; the server is
always stopped.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
TIMEOUT_MS = 60_000  # generous: CI runs this beside other tests on 2 cores


def _browser_or_skip():
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
        missing.append("the playwright package (pip install -e '.[viz]')")
    if missing:
        reason = "browser test needs " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI is set: this test must run)")
        pytest.skip(reason)
    return sync_playwright


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"dashboard server exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(
        f"dashboard server did not answer at {url} within {timeout:.0f} s:\n{log.read_text()}"
    )


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server we started (its own process group) and wait for it."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGINT, 10), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture
def server(tmp_path):
    port = _free_port()
    log = tmp_path / "server.log"
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False", "MPLBACKEND": "Agg"}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "analysis.dashboard.serve", f"dashboard.port={port}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for_http(f"http://127.0.0.1:{port}/", proc, log)
        yield port
    finally:
        _stop(proc)


def test_dashboard_in_a_browser(server, tmp_path):
    sync_playwright = _browser_or_skip()
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)

    port = server
    base = f"http://127.0.0.1:{port}"
    outside, errors = [], []

    def only_localhost(route):
        url = route.request.url
        if url.startswith((base, f"ws://127.0.0.1:{port}", "data:", "blob:")):
            route.continue_()
        else:  # offline: nothing may come from a CDN or anywhere else
            outside.append(url)
            route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(
                viewport={"width": 1600, "height": 1900}
            )  # the whole page, unscrolled
            page.set_default_timeout(TIMEOUT_MS)
            page.route("**/*", only_localhost)
            page.on(
                "response",
                lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )

            def text(name: str) -> str:
                return page.locator(f".cx-{name}").inner_text().strip()

            def charts() -> list[bytes]:
                items = page.locator(
                    ".vue-grid-item:has(img)"
                )  # the grid has a placeholder item too
                expect(items).to_have_count(5)
                return [items.nth(i).screenshot() for i in range(5)]

            def step(times: int) -> None:
                for _ in range(times):
                    week = int(text("week"))
                    page.get_by_role("button", name="Step", exact=True).click()
                    expect(page.locator(".cx-week")).to_have_text(str(week + 1))
                page.wait_for_timeout(800)  # the figures of the last step reach the browser

            page.goto(base + "/")
            expect(page.locator(".cx-week")).to_have_text("0", timeout=60_000)
            expect(page.locator(".vue-grid-item img")).to_have_count(5)
            assert text("nps") == "–" and text("customers").endswith("/ 2,000")
            page.wait_for_timeout(500)
            charts_0 = charts()

            # step: counters and charts change
            step(3)
            assert text("week") == "3" and text("nps") != "–" and text("profit") != "–"
            charts_3 = charts()
            assert all(a != b for a, b in zip(charts_0, charts_3, strict=True)), (
                "a chart did not change"
            )

            # play, then pause
            page.get_by_role("button", name="▶").click()
            page.wait_for_function(
                "() => Number(document.querySelector('.cx-week').innerText) >= 5", timeout=60_000
            )
            page.get_by_role("button", name="❚❚").click()
            expect(page.get_by_role("button", name="▶")).to_be_visible()
            weeks = [int(text("week"))]
            for _ in range(10):  # a step under way when pausing still completes
                page.wait_for_timeout(1500)
                weeks.append(int(text("week")))
                if weeks[-1] == weeks[-2]:
                    break
            assert weeks[-1] == weeks[-2] >= 5, f"still running after pause: {weeks}"

            # a lesson from the menu: a new run with its parameters and explanation
            page.locator(".cx-lesson-menu .v-select .v-input__slot").click()
            page.get_by_role("option", name="Measure nothing, miss everything").click()
            expect(page.locator(".cx-lesson .v-card__title")).to_have_text(
                "Measure nothing, miss everything"
            )
            expect(page.locator(".cx-week")).to_have_text("0")
            expect(page.locator(".cx-run-summary")).to_contain_text("methodological 0.00")
            expect(page.get_by_role("slider", name="Methodological support")).to_have_attribute(
                "aria-valuenow", "0"
            )

            # a slider, then Reset: the new run has the slider's value (and keeps the lesson)
            slider = page.get_by_role("slider", name="Customers")
            slider.focus()
            for _ in range(5):
                slider.press("ArrowRight")
            expect(slider).to_have_attribute("aria-valuenow", "3000")
            page.wait_for_timeout(500)
            page.get_by_role("button", name="Reset", exact=True).click()
            expect(page.locator(".cx-customers")).to_contain_text("/ 3,000")
            expect(page.locator(".cx-run-summary")).to_contain_text("3,000 customers")
            expect(page.locator(".cx-run-summary")).to_contain_text("methodological 0.00")
            assert text("week") == "0"

            # a shock: fired live, listed, and visible in the next weeks' counters and charts
            step(2)
            before = {k: text(k) for k in ("nps", "profit", "cum-profit")}
            charts_before = charts()
            page.get_by_role("button", name="Outage", exact=True).click()
            expect(page.locator(".cx-shock-message")).to_contain_text("outage on web")
            step(3)
            expect(page.locator(".cx-shock-log")).to_contain_text("active")
            after = {k: text(k) for k in ("nps", "profit", "cum-profit")}
            assert all(before[k] != after[k] for k in before), (before, after)
            charts_after = charts()
            assert all(a != b for a, b in zip(charts_before[1:], charts_after[1:], strict=True))

            # the network view recolours by status
            page.get_by_role("button", name="status", exact=True).click()
            page.wait_for_timeout(1500)

            page.locator(".cx-lesson").scroll_into_view_if_needed()
            page.wait_for_timeout(300)
            shot = tmp_path / "dashboard.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 50_000
        finally:
            browser.close()

    assert not outside, f"the page tried to load from outside 127.0.0.1: {outside[:5]}"
    assert not errors, f"HTTP errors: {errors[:5]}"

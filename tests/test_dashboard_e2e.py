"""The dashboard in a real browser: ``python -m analysis.dashboard.serve dashboard.port=N`` on a free
localhost port, driven with headless Chromium (Debian's ``chromium``) through Playwright.

It steps and plays the model to its horizon, picks lessons (the previous run stays as a faded
line), moves sliders and resets, fires shocks (a magnitude of 0 is refused), exports the runs
as CSV, opens the Info panel and the glossary, and checks that the page loads nothing from
outside 127.0.0.1 (offline) and gets no HTTP errors. It also measures, and prints (timings are
reported, not asserted: CI machines are noisy): the server's start-up time and the time to the
first figures, weeks per second while playing at 2,000 and at 20,000 customers, and the
server's memory over 20 browser sessions (which must not see each other's state).
Screenshots at 1280x720 and 1920x1080 go to the test's tmp dir and, if ``CXSIM_SCREENSHOT_DIR``
is set, there too. Skipped only when Chromium or Playwright is missing *and* ``CI`` is not set;
the server is always stopped.
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


def _rss_mb(pid: int) -> float:
    """Resident memory of a process (Linux), MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


@pytest.fixture
def server(tmp_path):
    port = _free_port()
    log = tmp_path / "server.log"
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False", "MPLBACKEND": "Agg"}
    t0 = time.monotonic()
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
        print(f"\n[dashboard] server answered HTTP after {time.monotonic() - t0:.1f} s ({_load()})")
        yield port, proc
    finally:
        _stop(proc)


def _shot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path))
    extra = os.environ.get("CXSIM_SCREENSHOT_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        (Path(extra) / name).write_bytes(path.read_bytes())
    return path


def test_dashboard_in_a_browser(server, tmp_path):
    sync_playwright = _browser_or_skip()
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)

    port, proc = server
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

            def open_page(width: int = 1280, height: int = 720):
                context = browser.new_context(
                    viewport={"width": width, "height": height}, accept_downloads=True
                )
                page = context.new_page()
                page.set_default_timeout(TIMEOUT_MS)
                page.route("**/*", only_localhost)
                page.on(
                    "response",
                    lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
                )
                return context, page

            context, page = open_page()

            def text(name: str) -> str:
                return page.locator(f".cx-{name}").inner_text().strip()

            def week() -> int:
                return int(text("week").split("/")[0])

            def points(kpi: str = "nps") -> int:
                """Points drawn for this run's first line of a chart."""
                return page.evaluate(
                    """(kpi) => { const ls = document.querySelectorAll(`.cx-chart[data-kpi="${kpi}"] .cx-lines g`);
                    const g = ls[ls.length - (kpi === 'nps' ? 2 : 1)];
                    return g ? [...g.querySelectorAll('polyline')].reduce((n, p) => n + p.points.numberOfItems, 0) : 0; }""",
                    kpi,
                )

            def has_points(kpi: str, n: int) -> bool:
                """Whether the chart shows ``n`` weeks of this run (waits up to 20 s for them)."""
                deadline = time.monotonic() + 20
                while points(kpi) != n and time.monotonic() < deadline:
                    page.wait_for_timeout(100)
                return points(kpi) == n

            def step(times: int) -> None:
                for _ in range(times):
                    page.wait_for_timeout(300)  # let a re-render that is under way settle
                    w = week()
                    page.get_by_role("button", name="Step", exact=True).click()
                    expect(page.locator(".cx-week")).to_have_text(f"{w + 1} / {horizon()}")

            def horizon() -> int:
                return int(text("week").split("/")[1])

            def play_rate(seconds: float) -> tuple[float, int]:
                """Play at full speed for about ``seconds``; weeks per second as displayed."""
                page.locator(".cx-speed button", has_text="max").click()
                w0 = week()
                page.get_by_role("button", name="▶ Play").click()
                page.wait_for_function(
                    "(w) => Number(document.querySelector('.cx-week').innerText.split('/')[0]) > w",
                    arg=w0,
                )
                t0, w1 = time.monotonic(), week()
                page.wait_for_timeout(seconds * 1000)
                t1, w2 = time.monotonic(), week()
                pause = page.get_by_role("button", name="❚❚ Pause")
                # on a quiet machine the run can reach its horizon (and stop) before the time is up
                if w2 < horizon() and pause.count() and pause.is_enabled():
                    pause.click()
                else:
                    page.wait_for_function(
                        "(h) => Number(document.querySelector('.cx-week').innerText.split('/')[0]) >= h",
                        arg=horizon(),
                    )
                return (w2 - w1) / (t1 - t0), w2

            # start-up: the page with its charts
            t0 = time.monotonic()
            page.goto(base + "/")
            expect(page.locator(".cx-chart")).to_have_count(4)
            expect(page.locator(".cx-network svg.cx-svg circle")).to_have_count(300)
            startup = time.monotonic() - t0
            print(
                f"[dashboard] first figures {startup:.1f} s after the page was requested ({_load()})"
            )
            expect(page.locator(".cx-week")).to_have_text("0 / 104")
            assert text("nps") == "–" and text("customers").endswith("/ 2,000")
            expect(page.locator('.cx-chart[data-kpi="nps"] .cx-xaxis')).to_contain_text("week")
            # the main chart is on screen at 1280x720, nothing on top of it
            box = page.locator('.cx-chart[data-kpi="nps"] svg.cx-svg').bounding_box()
            assert box and box["y"] >= 0 and box["y"] + box["height"] <= 720, box
            centre = page.evaluate(
                "([x, y]) => document.elementFromPoint(x, y).closest('.cx-chart') !== null",
                [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
            )
            assert centre, "something covers the NPS chart"
            # slider values are visible without dragging; no Mesa internals on show
            expect(page.get_by_text("Omnichannel: 0.50")).to_be_visible()
            for internal in ("Render Interval", "Use Threads", "PAGE 0", "Play Interval"):
                assert page.get_by_text(internal).count() == 0, internal

            # step: counters and charts change, one point per week
            step(3)
            assert text("nps") != "–" and text("profit") != "–"
            assert has_points("nps", 3) and has_points("profit", 3)

            # play at full speed to the horizon (104 weeks): every chart has every week
            page.locator(".cx-speed button", has_text="max").click()
            t0, w0 = time.monotonic(), week()
            page.get_by_role("button", name="▶ Play").click()
            expect(page.locator(".cx-horizon")).to_be_visible(timeout=120_000)
            rate_2k = (104 - w0) / (time.monotonic() - t0)
            expect(page.locator(".cx-week")).to_have_text("104 / 104")
            expect(page.get_by_role("button", name="Step", exact=True)).to_be_disabled()
            for kpi in ("nps", "market_share", "profit", "retention"):
                assert has_points(kpi, 104), kpi
            print(f"[dashboard] playing at 2,000 customers: {rate_2k:.1f} weeks/s ({_load()})")

            # a lesson: a new run; the previous one stays as a faded line, with window means
            page.locator(".cx-lesson-menu .v-select .v-input__slot").click()
            page.get_by_role("option", name="Support that costs more than it earns").click()
            expect(page.locator(".cx-lesson-title")).to_have_text(
                "Support that costs more than it earns"
            )
            expect(page.locator(".cx-week")).to_have_text("0 / 104")
            expect(page.locator('.cx-chart[data-kpi="nps"] .cx-legend')).to_contain_text(
                "previous: Free play"
            )
            means = page.locator(
                '.cx-chart[data-kpi="profit"] .cx-mean-text'
            )  # one per profit claim
            expect(means.nth(0)).to_contain_text("mean weeks 1–52")
            expect(means).to_have_count(1)  # the lesson's one weekly-profit claim
            expect(page.get_by_text("Human support: 1.00")).to_be_visible()
            step(2)
            expect(page.locator('.cx-chart[data-kpi="nps"] .cx-mean-text')).to_contain_text(
                "this run"
            )

            # a slider, then Reset: 20,000 customers, measured while playing
            slider = page.get_by_role("slider", name="Customers")
            slider.focus()
            slider.press("End")
            expect(page.get_by_text("Customers: 20,000 •")).to_be_visible()
            page.get_by_role("button", name="Reset", exact=True).click()
            expect(page.locator(".cx-customers")).to_contain_text("/ 20,000")
            expect(page.locator(".cx-run-summary")).to_contain_text("20,000 customers")
            rate_20k, _ = play_rate(6.0)
            print(f"[dashboard] playing at 20,000 customers: {rate_20k:.1f} weeks/s ({_load()})")

            # back to 2,000 (Free play) for the shocks
            page.locator(".cx-lesson-menu .v-select .v-input__slot").click()
            page.get_by_role("option", name="Free play (model defaults)").click()
            slider.focus()
            slider.press("Home")
            page.get_by_role("button", name="Reset", exact=True).click()
            expect(page.locator(".cx-customers")).to_contain_text("/ 200")
            step(2)
            mag = page.get_by_role("slider", name="Magnitude")
            mag.focus()
            mag.press("Home")
            expect(page.get_by_text("Magnitude: 0.00")).to_be_visible()
            page.get_by_role("button", name="Outage", exact=True).click()
            expect(page.locator(".cx-shock-message")).to_contain_text("Not fired")
            for k in range(1, 7):  # one key at a time, as a person types: each reaches the server
                mag.press("ArrowRight")
                expect(page.get_by_text(f"Magnitude: {0.05 * k:.2f}")).to_be_visible()
            weeks_slider = page.get_by_role("slider", name="Duration (weeks)")
            weeks_slider.focus()
            weeks_slider.press("Home")
            expect(page.get_by_text("Duration (weeks): 1")).to_be_visible()
            weeks_slider.press("ArrowRight")
            expect(page.get_by_text("Duration (weeks): 2")).to_be_visible()
            page.get_by_role("button", name="Outage", exact=True).click()
            expect(page.locator(".cx-shock-message")).to_contain_text("outage on web")
            step(1)
            expect(page.locator(".cx-shock-log")).to_contain_text("active (ends after week 4)")
            expect(page.locator('.cx-chart[data-kpi="nps"] .cx-bands')).to_contain_text(
                "outage web 3–4"
            )
            step(2)
            expect(page.locator(".cx-shock-log")).to_contain_text("ended after week 4")

            # CSV export of both runs
            with page.expect_download() as dl:
                page.get_by_text("Export runs (CSV)").click()
            csv = Path(dl.value.path()).read_text().splitlines()
            assert csv[0].startswith("run,lesson,seed,customers,week,nps,")
            assert {row.split(",")[0] for row in csv[1:]} == {"previous", "this run"}
            assert sum(row.startswith("this run,") for row in csv[1:]) == 5

            # Info panel and glossary
            page.get_by_text("Info: what this model is").click()
            expect(page.locator(".cx-info")).to_contain_text("Things to try")
            page.get_by_text("Glossary: NPS, CSAT").click()
            expect(page.locator(".cx-glossary")).to_contain_text("Net Promoter Score")

            page.locator(".cx-bar").scroll_into_view_if_needed()
            _shot(page, tmp_path, "dashboard-1280x720.png")
            context.close()

            # a wide screen: a fresh session (no state from the one above)
            context, page = open_page(1920, 1080)
            page.goto(base + "/")
            expect(page.locator(".cx-chart")).to_have_count(4)
            expect(page.locator(".cx-week")).to_have_text("0 / 104")
            page.get_by_role("button", name="Step", exact=True).click()
            page.locator(".cx-lesson-menu .v-select .v-input__slot").click()
            page.get_by_role("option", name="Measure nothing A: no measurement support").click()
            expect(page.locator(".cx-week")).to_have_text("0 / 104")
            # 25 weeks/s (not "max"): on a quiet machine "max" reaches the horizon and stops
            # before Pause can be pressed
            page.locator(".cx-speed button", has_text="25").click()
            page.get_by_role("button", name="▶ Play").click()
            page.wait_for_function(
                "() => Number(document.querySelector('.cx-week').innerText.split('/')[0]) >= 40"
            )
            page.get_by_role("button", name="❚❚ Pause").click()
            page.wait_for_timeout(1000)
            assert week() >= 40, "pausing re-rendered the page with stale data"
            assert has_points("nps", week())
            _shot(page, tmp_path, "dashboard-1920x1080.png")
            context.close()

            # 20 sessions: memory stays flat, no session sees another's state
            rss = [_rss_mb(proc.pid)]
            for i in range(20):
                context, page = open_page()
                page.goto(base + "/")
                expect(page.locator(".cx-week")).to_have_text("0 / 104")
                assert page.locator(".cx-legend", has_text="previous").count() == 0
                assert text("customers").endswith("/ 2,000")
                page.get_by_role("button", name="Step", exact=True).click()
                expect(page.locator(".cx-week")).to_have_text("1 / 104")
                page.close(run_before_unload=True)
                context.close()
                if i in (0, 9, 19):
                    time.sleep(2)
                    rss.append(_rss_mb(proc.pid))
            print(
                "[dashboard] server memory (MB): before the sessions {:.0f}, after 1 {:.0f}, after 10 {:.0f}, "
                "after 20 {:.0f}".format(*tuple(rss))
            )
            assert rss[-1] - rss[1] < 300, rss  # generous: a leak of a model per session is ~10 MB
        finally:
            browser.close()

    assert not outside, f"the page tried to load from outside 127.0.0.1: {outside[:5]}"
    assert not errors, f"HTTP errors: {errors[:5]}"

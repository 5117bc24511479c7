"""The Learn, Age stages and Model card pages in a real browser: each renders with its title, the Learn page's
sliders do not flood the server, and its training runs and stops.

Screenshots go to ``test-artifacts/`` (learn.png, age_stages.png, model_card.png, learn_training.png).
"""
from __future__ import annotations

import time
import urllib.request

import pytest
from browser_support import BROWSER_MARKS, launch, screenshot, wait_for_charts, wait_until_idle
from conftest import SHARED_UTKFACE

pytestmark = BROWSER_MARKS


def health_seconds(server: str) -> float:
    """How long the server's health check takes to answer."""
    start = time.monotonic()
    with urllib.request.urlopen(f"{server}/_stcore/health", timeout=30) as response:
        assert response.read() == b"ok"
    return time.monotonic() - start


def settle(server: str, timeout: float = 60) -> None:
    """Until the server answers at once three times in a row: start-up work (imports in the background, the first
    page's caches) is over, so what is measured next is the pages' own doing."""
    deadline, quick = time.monotonic() + timeout, 0
    while quick < 3 and time.monotonic() < deadline:
        quick = quick + 1 if health_seconds(server) < 0.1 else 0
        time.sleep(0.2)


def open_page(browser, server: str, path: str, height: int = 2400):
    page = browser.new_page(viewport={"width": 1400, "height": height})
    page.goto(f"{server}/{path}")
    return page


@pytest.mark.parametrize("path, title, charts", [("learn", "Learn: label distribution learning", 6),
                                                 ("model_card", "Model card", 2), ("age_stages", "Age stages", 1)])
def test_every_page_renders_with_its_title(server, playwright, path, title, charts):
    browser = launch(playwright)
    try:
        page = open_page(browser, server, path, {"learn": 4200, "age_stages": 4600}.get(path, 3000))
        page.get_by_role("heading", name=title).wait_for(timeout=60_000)
        wait_for_charts(page, charts, timeout=90_000)
        wait_until_idle(page)
        assert page.locator("[data-testid='stException']").count() == 0
        screenshot(page, path)
    finally:
        browser.close()


def test_sixty_fast_slider_keys_leave_the_server_responsive(server, playwright):
    browser = launch(playwright)
    try:
        page = open_page(browser, server, "learn")
        wait_for_charts(page, 6, timeout=90_000)
        wait_until_idle(page)
        settle(server)
        thumb = page.locator("[data-testid='stSlider']").filter(has_text="Predicted centre").get_by_role("slider")
        thumb.focus()
        for _ in range(60):
            page.keyboard.press("ArrowRight", delay=0)
        answers = [health_seconds(server)]
        deadline = time.monotonic() + 5  # and while the reruns the keys caused are under way
        while time.monotonic() < deadline:
            answers.append(health_seconds(server))
            time.sleep(0.2)
        assert max(answers) < 1.0, f"health check took {max(answers):.2f} s ({[round(a, 2) for a in answers]})"
        page.wait_for_function("() => document.body.innerText.includes('Predicted centre') && "
                               "[...document.querySelectorAll('[data-testid=stSliderThumbValue]')]"
                               ".some(e => e.innerText.trim() === '96')", timeout=60_000)  # 36 + 60
        wait_until_idle(page)
        assert page.locator("[data-testid='stException']").count() == 0
    finally:
        browser.close()


@pytest.mark.skipif(not (SHARED_UTKFACE / "manifest.csv").is_file(), reason="needs the UTKFace data in "
                    "../shared/datasets/utkface (not part of the repository)")
def test_learn_trains_both_heads_and_stops(server, playwright):
    browser = launch(playwright)
    try:
        page = open_page(browser, server, "learn", 5200)
        page.get_by_role("spinbutton", name="Faces").fill("200")
        page.get_by_role("spinbutton", name="Steps per head").fill("2000")
        page.get_by_role("spinbutton", name="Steps per head").press("Enter")
        wait_until_idle(page)
        page.get_by_role("button", name="Train both").click()
        page.get_by_role("button", name="Stop").click(timeout=180_000)
        page.get_by_text("Stopped after").wait_for(timeout=60_000)
        page.get_by_role("spinbutton", name="Steps per head").fill("150")
        page.get_by_role("spinbutton", name="Steps per head").press("Enter")
        wait_until_idle(page)
        page.get_by_role("button", name="Train both").click()
        page.get_by_text("After 150 steps").wait_for(timeout=120_000)
        wait_for_charts(page, 8)
        wait_until_idle(page)
        assert page.locator("[data-testid='stException']").count() == 0
        page.get_by_text("A short training").scroll_into_view_if_needed()
        screenshot(page, "learn_training")
    finally:
        browser.close()

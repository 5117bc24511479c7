"""The app as a server: nothing it serves makes the browser leave 127.0.0.1, and a fresh page shows its navigation
at once."""
from __future__ import annotations

import time

from apptest_support import weights_under_test
from browser_support import BROWSER_MARKS, launch, streamlit_server, wait_until_idle

pytestmark = BROWSER_MARKS
PAGES = ("live", "analyze", "age_stages", "learn", "model_card")


def test_no_request_leaves_the_server(server, playwright):
    browser = launch(playwright)
    outside: list[str] = []
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.on("request", lambda request: outside.append(request.url)
                if not request.url.startswith((server, "data:", "blob:", "about:")) else None)
        for name in PAGES:
            page.goto(f"{server}/{name}")
            wait_until_idle(page)
    finally:
        browser.close()
    assert outside == []


def test_a_fresh_server_shows_the_navigation_at_once(playwright, random_weights, free_port, tmp_path):
    """The first visit to a just-started server: the page list is drawn before the network's code is imported."""
    with streamlit_server(weights_under_test(random_weights), free_port(), tmp_path / "server.log") as url:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            start = time.monotonic()
            page.goto(f"{url}/learn")
            page.locator("[data-testid=stSidebarNav]").get_by_text("Analyze").wait_for(timeout=30_000)
            elapsed = time.monotonic() - start
            wait_until_idle(page)
        finally:
            browser.close()
    # 2.7 s seen with a training run on the same 2 cores; importing the network's code first would add about 3 s
    assert elapsed < 4.0, f"the navigation took {elapsed:.1f} s"

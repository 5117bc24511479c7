"""The Analyze page in a real browser: a portrait with its maps and colour bars, a bar clicked on the distribution,
the coffee cup refused at the default threshold, photos that outlive a visit to another page, and the uploader of a
fresh server shown at once. Screenshots go to ``test-artifacts/`` (analyze.png, analyze_maps.png, ...)."""
from __future__ import annotations

import re
import time

import pytest
from apptest_support import weights_under_test
from browser_support import (
    ARTIFACTS,
    BROWSER_MARKS,
    launch,
    screenshot,
    streamlit_server,
    wait_for_charts,
    wait_until_idle,
)
from PIL import Image

pytestmark = BROWSER_MARKS
UPLOADER = "[data-testid='stFileUploaderDropzoneInput']"
FIRST_VISIT_S = 6.0  # from navigation to the uploader on a cold server (3.0 s seen during the whole suite on 2 cores)
# The uploader comes with the page's title, not after the network has loaded: importing torch and building the network
# takes about 3 s on 2 cores (docs/performance.md, `dldl predict` on torch against onnxruntime); 0.8 s was seen between
# title and uploader with a training run on the same 2 cores.
SAME_PAINT_S = 1.5


@pytest.fixture(scope="module")
def coffee_png(tmp_path_factory):
    skimage_data = pytest.importorskip("skimage.data", reason="scikit-image provides the coffee photo")
    path = tmp_path_factory.mktemp("photos") / "coffee.png"
    Image.fromarray(skimage_data.coffee()).save(path)
    return path


def open_analyze(browser, server: str, height: int = 2600):
    page = browser.new_page(viewport={"width": 1400, "height": height})
    page.goto(f"{server}/analyze")
    page.get_by_text("Upload one or more photos").wait_for(timeout=60_000)
    return page


def no_exception(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0


def wait_for_maps(page) -> None:
    """Until the CAM on the photo has been drawn and the page is idle."""
    page.get_by_text(re.compile(r"on the photo$")).first.wait_for(timeout=120_000)
    wait_for_charts(page, 2)  # the distribution and the regions
    cam = page.locator("[data-testid='stImage']").filter(has_text="on the photo").locator("img").first
    cam.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=cam.element_handle(), timeout=90_000)
    wait_until_idle(page)


def test_analyze_a_photo(server, playwright, grace_hopper_path):
    browser = launch(playwright)
    try:
        page = open_analyze(browser, server)
        page.locator(UPLOADER).set_input_files(str(grace_hopper_path))
        page.get_by_text("Estimated age").first.wait_for(timeout=90_000)
        age = page.get_by_text(re.compile(r"Estimated age \d+\.\d")).first.inner_text()
        assert float(re.search(r"(\d+\.\d)", age).group(1)) >= 0
        assert page.get_by_text(re.compile(r"confirmation 0\.\d\d")).count() == 1
        # The sidebar names the device as soon as the network has loaded, before the explanations are drawn
        page.get_by_text(re.compile(r"Device: (CPU|GPU)")).first.wait_for(timeout=5_000)
        assert page.get_by_text(re.compile(r"on the photo$")).count() == 0
        wait_for_maps(page)
        no_exception(page)
        maps = page.locator("[data-testid='stHorizontalBlock']").filter(has_text="on the aligned face").last
        maps.scroll_into_view_if_needed()
        assert maps.locator("[data-testid='stImage']").count() == 4  # CAM x 2, sliding window, regions
        maps.screenshot(path=str(ARTIFACTS / "analyze_maps.png"))
        faithfulness = page.locator("[data-testid='stMarkdown']").filter(has_text="Faithfulness for this face").last
        faithfulness.scroll_into_view_if_needed()
        assert "a strong blur of the same face" in faithfulness.inner_text()
        assert "sanity check" in page.locator("[data-testid='stMain']").inner_text()
        faithfulness.screenshot(path=str(ARTIFACTS / "analyze_faithfulness.png"))
        regions = page.locator("[data-testid='stPlotlyChart']").nth(1)
        regions.scroll_into_view_if_needed()
        assert "right cheek (the person's)" in regions.inner_text()
        regions.screenshot(path=str(ARTIFACTS / "analyze_regions.png"))
        page.locator("[data-testid='stMain']").evaluate("el => el.scrollTo(0, 0)")
        screenshot(page, "analyze")

        # A bar clicked on the distribution chart becomes the bin the CAM explains.
        chart = page.locator("[data-testid='stPlotlyChart']").first
        chart.scroll_into_view_if_needed()
        bars = [b for b in (bar.bounding_box() for bar in chart.locator(".barlayer .point path").all()) if b]
        tallest = max(bars, key=lambda b: b["height"])  # a bar that surely has area under the cursor
        page.mouse.click(tallest["x"] + tallest["width"] / 2, tallest["y"] + tallest["height"] * 0.8)
        page.get_by_text(re.compile(r"evidence for the probability of age \d+")).wait_for(timeout=90_000)
        wait_until_idle(page)
        no_exception(page)

        page.locator(UPLOADER).set_input_files(
            files=[{"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"not a photo"}])
        error = page.get_by_text("notes.jpg is not an image")
        error.wait_for(timeout=90_000)
        error.scroll_into_view_if_needed()
        no_exception(page)
        screenshot(page, "analyze_error")
    finally:
        browser.close()


def test_the_coffee_cup_gets_no_age_at_the_default_threshold(server, playwright, coffee_png):
    browser = launch(playwright)
    try:
        page = open_analyze(browser, server, height=1400)
        page.locator(UPLOADER).set_input_files(str(coffee_png))
        page.get_by_text(re.compile("No face in coffee.png passed the confirmation threshold 0.70")).wait_for(
            timeout=90_000)
        wait_until_idle(page)
        assert page.get_by_text("Estimated age").count() == 0
        no_exception(page)
        screenshot(page, "analyze_coffee")
    finally:
        browser.close()


def test_uploads_survive_a_visit_to_another_page(server, playwright, grace_hopper_path):
    browser = launch(playwright)
    try:
        page = open_analyze(browser, server, height=1600)
        page.locator(UPLOADER).set_input_files(str(grace_hopper_path))
        page.get_by_text("Estimated age").first.wait_for(timeout=90_000)
        wait_until_idle(page)
        nav = page.locator("[data-testid='stSidebarNavLink']")
        nav.filter(has_text="Learn").click()
        page.get_by_text("Gaussian label distribution").first.wait_for(timeout=60_000)
        wait_until_idle(page)
        nav.filter(has_text="Analyze").click()
        page.get_by_text(re.compile(r"grace_hopper.jpg: 1 face\(s\)")).wait_for(timeout=60_000)
        page.get_by_text("Estimated age").first.wait_for(timeout=30_000)
        page.get_by_text("1 photo(s) kept from earlier in this session.").wait_for(timeout=10_000)
        wait_until_idle(page)
        no_exception(page)
        screenshot(page, "analyze_after_learn")
    finally:
        browser.close()


def test_a_fresh_server_shows_the_uploader_at_once(playwright, random_weights, free_port, tmp_path):
    browser = launch(playwright)
    try:
        with streamlit_server(weights_under_test(random_weights), free_port(), tmp_path / "streamlit.log") as url:
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            start = time.monotonic()
            page.goto(f"{url}/analyze")
            shown = {}  # seconds from navigation: the app's navigation, the page's title, its uploader
            for name, element in [("navigation", page.locator("[data-testid='stSidebarNav']")),
                                  ("title", page.get_by_text("Analyze photos")),
                                  ("uploader", page.locator("[data-testid='stFileUploaderDropzone']"))]:
                element.wait_for(state="visible", timeout=60_000)
                shown[name] = round(time.monotonic() - start, 2)
            screenshot(page, "analyze_first_visit")
            assert shown["uploader"] < FIRST_VISIT_S, f"the uploader took too long to show (seconds): {shown}"
            assert shown["uploader"] - shown["title"] < SAME_PAINT_S, f"the uploader waited for something: {shown}"
            wait_until_idle(page)
            no_exception(page)
    finally:
        browser.close()

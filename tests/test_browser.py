"""The real app in a real browser: the Streamlit server on a free port, driven by Playwright with Debian's Chromium.

Needs ``apt-get install -y chromium`` (the tests are skipped without /usr/bin/chromium). Screenshots go to
``test-artifacts/``. The Live test feeds Chromium's fake camera a .y4m video made from a real portrait.
"""
from __future__ import annotations

import re
import time

import pytest
from browser_support import ARTIFACTS, BROWSER_MARKS, launch, screenshot, wait_for_charts, wait_until_idle, write_y4m
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from dldl_core.data.images import load_rgb

pytestmark = BROWSER_MARKS


def test_analyze_a_photo(server, playwright, grace_hopper_path):
    browser = launch(playwright)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 2600})
        page.goto(f"{server}/analyze")
        page.get_by_text("Upload one or more photos").wait_for(timeout=60_000)
        page.get_by_text(re.compile(r"Device: (CPU|GPU)")).first.wait_for(timeout=10_000)
        page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(grace_hopper_path))
        page.get_by_text("Estimated age").first.wait_for(timeout=90_000)
        age = page.get_by_text(re.compile(r"Estimated age \d+\.\d")).first.inner_text()
        assert float(re.search(r"(\d+\.\d)", age).group(1)) >= 0
        page.get_by_text("gradcam on the photo").wait_for(timeout=90_000)
        wait_for_charts(page, 2)  # the distribution and the regions
        cam = page.locator("[data-testid='stImage']").filter(has_text="gradcam on the photo").locator("img")
        cam.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=cam.element_handle(), timeout=90_000)
        assert page.locator("[data-testid='stException']").count() == 0
        wait_until_idle(page)
        page.locator("[data-testid='stMain']").evaluate("el => el.scrollTo(0, 0)")
        screenshot(page, "analyze")

        # A bar clicked on the distribution chart becomes the bin the CAM explains.
        chart = page.locator("[data-testid='stPlotlyChart']").first
        chart.scroll_into_view_if_needed()
        bars = [b for b in (bar.bounding_box() for bar in chart.locator(".barlayer .point path").all()) if b]
        tallest = max(bars, key=lambda b: b["height"])  # a bar that surely has area under the cursor
        page.mouse.click(tallest["x"] + tallest["width"] / 2, tallest["y"] + tallest["height"] * 0.8)
        page.get_by_text(re.compile(r"Maps for target bin:\d+")).wait_for(timeout=90_000)
        wait_until_idle(page)
        assert page.locator("[data-testid='stException']").count() == 0

        page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
            files=[{"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"not a photo"}])
        error = page.get_by_text("notes.jpg is not an image")
        error.wait_for(timeout=90_000)
        error.scroll_into_view_if_needed()
        assert page.locator("[data-testid='stException']").count() == 0
        screenshot(page, "analyze_error")
    finally:
        browser.close()


@pytest.mark.parametrize("path, text, charts", [("learn", "Gaussian label distribution", 4),
                                                ("model_card", "Model card", 0), ("age_stages", "Age stages", 0)])
def test_other_pages_render(server, playwright, path, text, charts):
    browser = launch(playwright)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 2400})
        page.goto(f"{server}/{path}")
        page.get_by_text(text).first.wait_for(timeout=60_000)
        if charts:
            wait_for_charts(page, charts)
        wait_until_idle(page)
        assert page.locator("[data-testid='stException']").count() == 0
        screenshot(page, path)
    finally:
        browser.close()


FRAME_HAS_AMBER_BOX = """v => {
                if (v.readyState < 2 || v.videoWidth === 0) return false;
                const c = document.createElement('canvas');
                c.width = v.videoWidth; c.height = v.videoHeight;
                const g = c.getContext('2d'); g.drawImage(v, 0, 0);
                const d = g.getImageData(0, 0, c.width, c.height).data;
                let n = 0;
                for (let i = 0; i < d.length; i += 4)
                    if (d[i] > 200 && d[i + 1] > 150 && d[i + 1] < 230 && d[i + 2] < 80) n++;
                return n > 200;
            }"""


def test_live_with_a_fake_camera(server, playwright, grace_hopper_path, tmp_path):
    video = write_y4m(load_rgb(grace_hopper_path), tmp_path / "face.y4m")
    browser = launch(playwright, ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                                  f"--use-file-for-fake-video-capture={video}"])
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1400})
        context.grant_permissions(["camera"])
        page = context.new_page()
        page.goto(server)
        page.get_by_text("Live age estimation").wait_for(timeout=60_000)
        frame = page.frame_locator("iframe[title*='webrtc']")
        frame.get_by_role("button", name=re.compile("start", re.I)).click(timeout=60_000)
        video_el = frame.locator("video").first
        video_el.wait_for(timeout=60_000)
        # Wait for a frame that carries the annotation: the amber box/tag colour drawn by the server.
        deadline = time.monotonic() + 180
        found = False
        while time.monotonic() < deadline and not found:
            try:  # the component may re-render its <video> while the stream starts: look again until the deadline
                found = video_el.evaluate(FRAME_HAS_AMBER_BOX, timeout=10_000)
            except PlaywrightTimeoutError:
                found = False
            if not found:
                page.wait_for_timeout(500)
        assert found, "no annotated frame (amber face box) arrived in the video"
        faces = page.locator("[data-testid='stMetric']").filter(has_text="Faces")
        page.wait_for_function("el => /Faces\\s*1/.test(el.innerText)", arg=faces.element_handle(), timeout=90_000)
        page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=90_000)  # the track table with the age
        page.wait_for_timeout(1500)
        assert page.locator("[data-testid='stException']").count() == 0
        screenshot(page, "live")
        video_el.screenshot(path=str(ARTIFACTS / "live_video.png"))

        page.get_by_text("Grad-CAM overlay").click()  # reruns the page; the stream goes on
        page.get_by_text(re.compile(r"cam [1-9]\d*\.\d")).wait_for(timeout=60_000)  # the CAM stage now takes time
        page.wait_for_timeout(1500)
        assert page.locator("[data-testid='stException']").count() == 0
        video_el.screenshot(path=str(ARTIFACTS / "live_video_gradcam.png"))
    finally:
        browser.close()

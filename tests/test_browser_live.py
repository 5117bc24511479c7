"""The Live page in a real browser, as a presenter uses it: Chromium's fake camera plays a .y4m clip made from a real
portrait; the processed video comes back through streamlit-webrtc's iframe.

Needs ``apt-get install -y chromium`` (skipped without /usr/bin/chromium). Screenshots go to ``test-artifacts/``.
"""
from __future__ import annotations

import re
import time

from browser_support import ARTIFACTS, BROWSER_MARKS, launch, screenshot, wait_until_idle, write_y4m
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from dldl_core.data.images import load_rgb

pytestmark = BROWSER_MARKS

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
FRAME_HAS_HEAT = """v => {
                const c = document.createElement('canvas');
                c.width = v.videoWidth; c.height = v.videoHeight;
                const g = c.getContext('2d'); g.drawImage(v, 0, 0);
                const d = g.getImageData(0, 0, c.width, c.height).data;
                let n = 0;
                for (let i = 0; i < d.length; i += 4)
                    if (d[i + 1] > 100 && d[i + 1] >= d[i] - 5 && d[i + 2] < d[i + 1] - 30) n++;
                return n > 300;
            }"""  # viridis' yellow-green over the face; the portrait and the amber tag have hardly any such pixel
LIVE_FPS = re.compile(r"\d+\.\d fps")
AGE = re.compile(r"^\d+\.\d ± \d+\.\d$")  # one decimal, with the ± sign


def wait_for_frame(page, video, check: str, what: str, seconds: float = 180) -> None:
    """Until the video shows a frame for which the JavaScript ``check`` holds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:  # the component may re-render its <video> while the stream starts: look again until the deadline
            if video.evaluate(check, timeout=10_000):
                return
        except PlaywrightTimeoutError:
            pass
        page.wait_for_timeout(500)
    raise AssertionError(f"no frame {what} arrived in the video")


def start_camera(playwright, server, clip):
    browser = launch(playwright, ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                                  f"--use-file-for-fake-video-capture={clip}"])
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.grant_permissions(["camera"])
    page = context.new_page()
    page.goto(server)
    page.get_by_text("Live age estimation").wait_for(timeout=60_000)
    page.get_by_text("Stopped.").wait_for(timeout=60_000)
    camera = page.frame_locator("iframe[title*='webrtc']")
    camera.get_by_role("button", name=re.compile("start", re.I)).click(timeout=60_000)
    video = camera.locator("video").first
    video.wait_for(timeout=60_000)
    wait_for_frame(page, video, FRAME_HAS_AMBER_BOX, "with the amber face box and age tag")
    return browser, page, camera, video


def test_live_with_a_fake_camera(server, playwright, grace_hopper_path, tmp_path):
    clip = write_y4m(load_rgb(grace_hopper_path), tmp_path / "face.y4m")
    browser, page, camera, video = start_camera(playwright, server, clip)
    try:
        face = page.locator("[data-testid='stMetric']").filter(has_text="Face 1")
        face.wait_for(timeout=90_000)
        assert AGE.match(face.locator("[data-testid='stMetricValue']").inner_text().strip())
        page.get_by_text(LIVE_FPS).first.wait_for(timeout=30_000)
        page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=90_000)  # the recent tracks
        page.wait_for_timeout(1500)
        assert page.locator("[data-testid='stException']").count() == 0

        main, title = page.locator("[data-testid='stMain']").bounding_box(), page.locator("h1").first.bounding_box()
        shown, numbers = video.bounding_box(), face.bounding_box()
        assert title["y"] < shown["y"] < main["y"] + 250, (title, shown)  # the video right under the title
        assert shown["width"] > 0.6 * main["width"] and shown["height"] > 400  # large
        assert numbers["x"] > shown["x"] + shown["width"] and numbers["y"] < shown["y"] + shown["height"]  # beside
        screenshot(page, "live_presenter")
        video.screenshot(path=str(ARTIFACTS / "live_video.png"))

        page.get_by_text("Settings").click()
        page.get_by_text("Grad-CAM overlay: It adds about").wait_for(timeout=30_000)  # the cost, before it is paid
        page.get_by_text("Grad-CAM overlay", exact=True).click()  # reruns the page; the stream goes on
        page.get_by_text(re.compile(r"cam [1-9]\d*\.\d")).wait_for(timeout=60_000)  # the CAM stage now takes time
        wait_for_frame(page, video, FRAME_HAS_HEAT, "with the heat map over the face", 120)
        assert page.locator("[data-testid='stException']").count() == 0
        video.screenshot(path=str(ARTIFACTS / "live_video_gradcam.png"))
        screenshot(page, "live_settings")

        page.locator("[data-testid='stSidebar']").get_by_text("Simple view").click()
        page.get_by_text("the age the computer reads from that face").wait_for(timeout=60_000)
        wait_until_idle(page)
        assert page.get_by_text(LIVE_FPS).count() == 0 and page.get_by_text("Grad-CAM").count() == 0
        face.wait_for(timeout=30_000)
        screenshot(page, "live_simple")

        camera.get_by_role("button", name=re.compile("stop", re.I)).click(timeout=30_000)
        page.get_by_text("Stopped.").wait_for(timeout=60_000)
        wait_until_idle(page)
        assert page.get_by_text(LIVE_FPS).count() == 0 and face.count() == 0  # nothing left that looks live
        assert page.locator("[data-testid='stException']").count() == 0
        screenshot(page, "live_stopped")
    finally:
        browser.close()

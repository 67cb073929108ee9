"""The web demo in headless Chromium: uploads (a real CREMA-D clip, two synthetic faces), webcam."""
import shutil

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi", reason='the demo is an optional extra: pip install -e ".[demo]"')
from playwright import sync_api  # pylint: disable=g-import-not-at-top

from emo_jax.video import synthetic  # pylint: disable=g-import-not-at-top
from tests import demo_server  # pylint: disable=g-import-not-at-top

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
RESULT_TIMEOUT_MS = 240_000


def _browser_path() -> str:
  for name in BROWSERS:
    path = shutil.which(name)
    if path:
      return path
  pytest.skip("no Chromium installed (apt-get install -y chromium chromium-driver; "
              ".ci/run does this)")


def write_y4m(path, frames: np.ndarray, fps: int = 25):
  """RGB frames `[N, H, W, 3]` as a raw YUV4MPEG2 (4:2:0) file, Chromium's fake camera input."""
  _, height, width, _ = frames.shape
  with open(path, "wb") as f:
    f.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
    for frame in frames:
      f.write(b"FRAME\n")
      f.write(cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).tobytes())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
  directory = tmp_path_factory.mktemp("demo_browser")
  uploads = directory / "uploads"
  with demo_server.running_server(directory, uploads) as url:
    yield url, uploads


@pytest.fixture(scope="module")
def page(tmp_path_factory):
  directory = tmp_path_factory.mktemp("browser")
  camera = directory / "camera.y4m"
  write_y4m(camera, synthetic.one_face(50, (320, 240)).frames)
  with sync_api.sync_playwright() as playwright:
    browser = playwright.chromium.launch(
        executable_path=_browser_path(), headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--use-fake-device-for-media-stream",
              "--use-fake-ui-for-media-stream", f"--use-file-for-fake-video-capture={camera}"])
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    yield context.new_page()
    browser.close()


def _upload(page, url, path):
  page.goto(url)
  page.set_input_files("#file", str(path))
  page.click("#analyze")
  page.wait_for_selector("#result:not([hidden])", timeout=RESULT_TIMEOUT_MS)
  labels = page.locator("#summary tbody tr.face td.label").all_inner_texts()
  timeline = page.locator("#timeline")
  # The timeline image has decoded (naturalWidth > 0), not merely been given a source.
  assert timeline.evaluate("img => img.complete && img.naturalWidth") > 100
  if not page.locator("#annotated-video").is_hidden():
    # Chromium decodes the annotated mp4 (H.264) and has shown the frame the page seeks to.
    page.wait_for_function("(v) => v.readyState >= 2 && v.currentTime > 0 && !v.seeking",
                           arg=page.locator("#annotated-video").element_handle(),
                           timeout=30_000)
  return labels


def test_upload_of_a_real_cremad_clip_shows_a_label_and_the_timeline(server, page,
                                                                     cremad_shared_dir, tmp_path):
  url, uploads = server
  clip = cremad_shared_dir / "VideoFlash" / "1001_DFA_HAP_XX.flv"
  labels = _upload(page, url, clip)
  class_names = page.evaluate("fetch('/api/info').then(r => r.json()).then(i => i.class_names)")
  assert len(labels) == 1 and labels[0] in class_names, labels
  assert not page.locator("#annotated-video").is_hidden()
  assert page.locator("#annotated-video").evaluate("v => v.src.startsWith('data:video/mp4')")
  print("upload to result:", page.locator("#status").get_attribute("data-seconds"), "s")
  page.wait_for_timeout(1000)  # The video's loading spinner fades out after the seek.
  page.screenshot(path=str(tmp_path / "demo_cremad.png"), full_page=True)
  assert not any(uploads.iterdir()), "an upload was kept"


def test_upload_of_two_synthetic_faces_labels_each_face(server, page, tmp_path):
  url, uploads = server
  clip = synthetic.two_faces(50, (640, 480))
  path = synthetic.write_video(tmp_path / "two faces.mp4", clip.frames, clip.fps)
  labels = _upload(page, url, path)
  assert len(labels) == 2, labels
  assert page.locator("#status").inner_text().startswith("Done")
  page.screenshot(path=str(tmp_path / "demo_two_faces.png"), full_page=True)
  assert not any(uploads.iterdir()), "an upload was kept"


def test_webcam_streams_frames_and_shows_live_labels(server, page, tmp_path):
  url, _ = server
  page.goto(url)
  page.click("#webcam-start")
  # The fake camera loops a one-face clip; a face is reported from its third detection.
  page.wait_for_selector("#live-labels li.live-face", timeout=RESULT_TIMEOUT_MS)
  label = page.locator("#live-labels li.live-face").first.inner_text()
  class_names = page.evaluate("fetch('/api/info').then(r => r.json()).then(i => i.class_names)")
  assert label.startswith("#1 ") and label.split()[1] in class_names, label
  page.screenshot(path=str(tmp_path / "demo_webcam.png"), full_page=True)
  page.click("#webcam-stop")
  assert page.locator("#live-status").inner_text() == "Stopped."

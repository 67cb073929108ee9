"""Bad uploads to the live demo server: each gets a message and a status below 500, none is kept."""
import concurrent.futures
import contextlib
import json
import struct
import zlib

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi", reason='the demo is an optional extra: pip install -e ".[demo]"')
import httpx  # pylint: disable=g-import-not-at-top

from emo_jax.video import synthetic  # pylint: disable=g-import-not-at-top
from tests import demo_server  # pylint: disable=g-import-not-at-top

MAX_UPLOAD_MB = 3
MAX_VIDEO_S = 4
TIMEOUT_S = 300


@pytest.fixture(scope="module")
def server(tmp_path_factory):
  directory = tmp_path_factory.mktemp("demo_fuzz")
  uploads = directory / "uploads"
  flags = ("--max_upload_mb", str(MAX_UPLOAD_MB), "--max_video_s", str(MAX_VIDEO_S),
           "--max_running", "1", "--max_waiting", "2", "--time_limit_s", "120")
  with demo_server.running_server(directory, uploads, *flags) as url:
    yield url, uploads


@pytest.fixture(scope="module")
def media(tmp_path_factory):
  """Good and damaged files, made here: a short one-face video, a long one, images."""
  directory = tmp_path_factory.mktemp("fuzz_media")
  good = synthetic.write_video(directory / "good.mp4",
                               synthetic.one_face(20, (160, 120)).frames, 10.0)
  long_video = synthetic.write_video(directory / "long.mp4",
                                     np.zeros((120, 48, 64, 3), np.uint8), 10.0)  # 12 s
  long_mkv = synthetic.write_video(directory / "long.mkv",
                                   np.zeros((60, 48, 64, 3), np.uint8), 10.0)  # 6 s
  image_4k = cv2.imencode(".jpg", np.full((2160, 3840, 3), 90, np.uint8))[1].tobytes()
  png = cv2.imencode(".png", synthetic.one_face(1, (160, 120)).frames[0])[1].tobytes()
  return {"good": open(good, "rb").read(), "long": open(long_video, "rb").read(),
          "long_mkv": open(long_mkv, "rb").read(), "4k": image_4k, "png": png}


def _png_header(width: int, height: int) -> bytes:
  """A PNG announcing `width` x `height` that holds one empty row: a decompression bomb."""
  def chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
  header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
  return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0"))
          + chunk(b"IEND", b""))


def _bad_requests(media):
  """(description, filename header or None, body, expected statuses) of hostile uploads."""
  good, rng = media["good"], np.random.default_rng(0)
  text = b"this is not a video\n" * 50
  cases = []
  for name in ("empty.mp4", "empty.webm", "empty.mov", "empty.flv"):
    cases.append((f"empty video {name}", name, b"", {400}))
  for name in ("empty.png", "empty.jpg", "empty.bmp", "empty.webp"):
    cases.append((f"zero-byte image {name}", name, b"", {400}))
  for extension in (".mp4", ".mov", ".avi", ".mkv", ".webm", ".flv", ".3gp"):
    cases.append((f"text named {extension}", "notes" + extension, text, {422}))
  for k in range(5):
    cases.append((f"random bytes {k}", f"random{k}.mp4", rng.bytes(2000 + 3000 * k), {422}))
  for share in (0.05, 0.2, 0.4, 0.6, 0.8, 0.95):
    cases.append((f"video truncated at {share:.0%}", "cut.mp4", good[:int(len(good) * share)],
                  {422}))
  png = media["png"]
  for share in (0.1, 0.5, 0.9):
    cases.append((f"png truncated at {share:.0%}", "cut.png", png[:int(len(png) * share)],
                  {422}))
  cases.append(("png signature then garbage", "x.png", png[:8] + b"garbage" * 100, {422}))
  cases.append(("12000x12000 png header", "huge.png", _png_header(12000, 12000), {413, 422}))
  cases.append(("60000x60000 png header", "bomb.png", _png_header(60000, 60000), {413, 422}))
  cases.append(("a video named .png", "video.png", good, {422}))
  oversized = rng.bytes(MAX_UPLOAD_MB * 2**20 + 1000)
  cases.append(("oversized upload", "big.mp4", oversized, {413}))
  cases.append(("oversized upload, chunked", "big.mp4", iter([oversized[:2**20]] * 4), {413}))
  cases.append(("12 s video (limit 4 s)", "long.mp4", media["long"], {413}))
  cases.append(("6 s mkv (limit 4 s)", "long.mkv", media["long_mkv"], {413, 422}))
  for name in ("../../etc/passwd.mp4", "..%2F..%2Fetc%2Fpasswd.mp4", "/etc/shadow.png",
               "C:\\..\\..\\boot.jpg", "....//....//x.mp4", "%2e%2e/%2e%2e/x.webm"):
    cases.append((f"path in the name {name!r}", name, text, {422}))
  for name in (b"\xff\xfe\xfd.mp4", b"caf\xe9.mp4", "%ff%fe.mp4", "a%00b.mp4",
               "\u00e9\u00e8.mp4".encode("latin-1"), "x" * 4000 + ".mp4"):
    cases.append((f"odd name {name[:20]!r}", name, text, {422, 431}))
  for name in (None, "noextension", "virus.exe", "clip.mp4.exe", "clip.", ".mp4x"):
    cases.append((f"unsupported name {name!r}", name, good, {415}))
  return cases


def _post(url, name, body, timeout=TIMEOUT_S):
  headers = {} if name is None else {"X-Filename": name}
  return httpx.post(f"{url}/api/analyze", content=body, headers=headers, timeout=timeout)


def _message(response) -> str:
  body = response.json()
  return body.get("error") or body.get("detail") or ""


def test_bad_uploads_get_messages_and_the_server_keeps_going(server, media):
  url, uploads = server
  cases = _bad_requests(media)
  counts = {}
  for description, name, body, expected in cases:
    response = _post(url, name, body)
    assert response.status_code in expected, (description, response.status_code, response.text)
    if response.status_code != 431:  # h11 refuses an over-long header line itself
      message = _message(response)
      assert len(message) > 15, (description, message)
      assert str(uploads) not in message, f"{description}: the server's path leaked"
    counts[response.status_code] = counts.get(response.status_code, 0) + 1
  # Requests that are not uploads at all.
  assert httpx.get(f"{url}/api/analyze").status_code == 405
  assert httpx.post(f"{url}/api/analyze/../../etc/passwd").status_code == 404
  accepted = _post(url, "uhd.jpg", media["4k"])  # 4K is within the limit: analysed.
  assert accepted.status_code == 200, accepted.text
  assert accepted.json()["kind"] == "image"
  print(f"{len(cases) + 3} bad or hostile requests; statuses: {sorted(counts.items())}")
  assert len(cases) + 3 >= 50
  assert not any(uploads.iterdir()), list(uploads.iterdir())


def test_many_uploads_at_once_are_queued_or_told_busy(server, media):
  url, uploads = server
  with concurrent.futures.ThreadPoolExecutor(10) as pool:
    responses = list(pool.map(lambda _: _post(url, "good.mp4", media["good"]), range(10)))
  statuses = sorted(r.status_code for r in responses)
  print("10 uploads at once:", statuses)
  # One runs and two wait (--max_running 1 --max_waiting 2); the rest are told to come back.
  assert statuses.count(200) >= 3 and 503 in statuses, statuses
  for response in responses:
    if response.status_code == 503:
      assert "busy" in _message(response) and response.headers["Retry-After"]
  good = _post(url, "good.mp4", media["good"])
  assert good.status_code == 200 and good.json()["faces"], good.text
  assert not any(uploads.iterdir()), list(uploads.iterdir())


def _frame(time_s: float, jpeg: bytes) -> bytes:
  return struct.pack("<d", time_s) + jpeg


def test_bad_webcam_frames_get_messages_and_good_ones_labels(server):
  from websockets.sync import client  # pylint: disable=g-import-not-at-top
  url, _ = server
  live_url = url.replace("http://", "ws://") + "/api/live"
  frames = synthetic.one_face(6, (320, 240)).frames
  jpegs = [cv2.imencode(".jpg", cv2.cvtColor(f, cv2.COLOR_RGB2BGR))[1].tobytes() for f in frames]
  bad = ["a text message", b"", b"\0" * 4, _frame(float("nan"), jpegs[0]),
         _frame(-1.0, jpegs[0]), _frame(0.0, b"not a jpeg"), _frame(0.0, b"\xff" * 1_200_000),
         _frame(0.0, cv2.imencode(".png", np.zeros((3000, 4000, 3), np.uint8))[1].tobytes())]
  with client.connect(live_url, max_size=None) as socket:
    for message in bad:
      socket.send(message)
      reply = json.loads(socket.recv(timeout=TIMEOUT_S))
      assert len(reply.get("error", "")) > 8, (message[:20], reply)
    for k, jpeg in enumerate(jpegs):
      socket.send(_frame(0.1 * k, jpeg))
      reply = json.loads(socket.recv(timeout=TIMEOUT_S))
    # A face is reported from its third detection, with its smoothed label.
    assert [face["track_id"] for face in reply["faces"]] == [1], reply
    assert reply["faces"][0]["label"] in json.loads(httpx.get(f"{url}/api/info").text)[
        "class_names"]
  print(f"{len(bad)} bad webcam messages answered")


def test_webcam_sessions_beyond_the_limit_are_told_busy(server):
  from websockets.sync import client  # pylint: disable=g-import-not-at-top
  url, _ = server
  live_url = url.replace("http://", "ws://") + "/api/live"
  jpeg = cv2.imencode(".jpg", np.zeros((48, 64, 3), np.uint8))[1].tobytes()
  with contextlib.ExitStack() as stack:
    for _ in range(2):  # --max_live_sessions 2 (the default)
      socket = stack.enter_context(client.connect(live_url))
      socket.send(_frame(0.0, jpeg))
      assert json.loads(socket.recv(timeout=TIMEOUT_S))["faces"] == []
    with client.connect(live_url) as third:
      assert "busy" in json.loads(third.recv(timeout=TIMEOUT_S))["error"]

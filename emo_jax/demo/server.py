"""The demo's web app: the page, `POST /api/analyze` (an upload) and `/api/live` (webcam frames)."""
import asyncio
import importlib.resources
import logging
import math
import os
import struct
import urllib.parse

import anyio
import fastapi
from fastapi import responses

from emo_jax import checkpoints
from emo_jax.demo import analysis
from emo_jax.demo import limits as limits_lib

# A webcam message: the frame's time in seconds (float64, little-endian), then a JPEG.
_LIVE_HEADER = struct.Struct("<d")
# WebSocket close code "try again later" (RFC 6455 registry).
_TRY_AGAIN_LATER = 1013


def _page() -> str:
  return importlib.resources.files("emo_jax.demo").joinpath("static/index.html").read_text()


def create_app(run: checkpoints.LoadedRun, upload_root: str,
               limits: limits_lib.Limits = limits_lib.Limits(),
               smoothing_s: float = 0.5) -> fastapi.FastAPI:
  """The app, serving one loaded model.

  Args:
    run: the model (`checkpoints.load(workdir)` or `checkpoints.load_bundled()`).
    upload_root: an existing private folder; each upload gets a folder inside it that is
      removed before its response is sent.
    limits: what the server accepts.
    smoothing_s: the per-face EMA time constant, for uploads and the webcam.
  """
  app = fastapi.FastAPI(title="emo_jax demo", docs_url=None, redoc_url=None)
  admission = limits_lib.Admission(limits.max_running, limits.max_waiting)
  live_sessions = {"count": 0}
  page = _page()
  model_name = os.path.basename(run.workdir.rstrip("/")) or run.workdir

  @app.exception_handler(limits_lib.RequestError)
  async def _request_error(unused_request, error: limits_lib.RequestError):
    headers = {"Retry-After": str(error.retry_after_s)} if error.retry_after_s else None
    return responses.JSONResponse({"error": error.message}, error.status, headers=headers)

  @app.get("/", response_class=responses.HTMLResponse)
  async def index():
    return page

  @app.get("/api/info")
  async def info():
    return {"model": model_name, "class_names": list(run.class_names),
            "frames_shape": list(run.frames_shape), "smoothing_s": smoothing_s,
            "max_upload_mb": limits.max_upload_mb, "max_video_s": limits.max_video_s,
            "extensions": list(limits_lib.VIDEO_EXTENSIONS + limits_lib.IMAGE_EXTENSIONS)}

  @app.post("/api/analyze")
  async def analyze(request: fastapi.Request):
    """The request body is the file itself; its name (for the extension) is `X-Filename`."""
    raw_name = urllib.parse.unquote(request.headers.get("x-filename", ""), errors="replace")
    name = limits_lib.display_name(raw_name)
    extension = limits_lib.extension_of(raw_name)
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limits.max_upload_bytes:
      raise limits_lib.RequestError(413, f"The upload ({int(length) / 2**20:.0f} MB) is larger "
                                    f"than the limit of {limits.max_upload_mb:.0f} MB.")
    ticket = admission.admit()
    try:
      with limits_lib.private_directory(upload_root) as directory:
        path = os.path.join(directory, "upload" + extension)
        await limits_lib.save_upload(request.stream(), path, limits.max_upload_bytes)
        async with ticket.running():
          try:
            result = await anyio.to_thread.run_sync(
                analysis.analyze_upload, path, name, run, limits, smoothing_s)
          except limits_lib.RequestError:
            raise
          except Exception as e:  # pylint: disable=broad-except
            # A file FFmpeg or OpenCV chokes on in a way emo_jax.video does not name: the
            # visitor gets a message, the log the traceback.
            logging.exception("analysis of an upload (%s) failed", name)
            raise limits_lib.RequestError(
                422, f"{name}: cannot analyse it ({type(e).__name__}); is it a complete "
                "video or image?") from e
    finally:
      ticket.release()
    return result

  @app.websocket("/api/live")
  async def live(websocket: fastapi.WebSocket):
    """Webcam frames in, one JSON result out per frame (the client waits for it)."""
    await websocket.accept()
    if live_sessions["count"] >= limits.max_live_sessions:
      await websocket.send_json({"error": f"The server is busy: {limits.max_live_sessions} "
                                 "webcam session(s) already. Please try again later."})
      await websocket.close(_TRY_AGAIN_LATER)
      return
    live_sessions["count"] += 1
    try:
      session = await anyio.to_thread.run_sync(analysis.LiveSession, run, smoothing_s)
      while True:
        received = await websocket.receive()
        if received["type"] == "websocket.disconnect":
          break
        message = received.get("bytes")
        if message is None:
          await websocket.send_json({"error": "send frames as binary messages: an 8-byte "
                                     "float64 time, then a JPEG"})
          continue
        if len(message) > limits.max_live_frame_kb * 1024 + _LIVE_HEADER.size:
          await websocket.send_json({"error": "frame too large"})
          continue
        if len(message) <= _LIVE_HEADER.size:
          await websocket.send_json({"error": "empty frame"})
          continue
        (time_s,) = _LIVE_HEADER.unpack_from(message)
        if not math.isfinite(time_s) or time_s < 0:
          await websocket.send_json({"error": "bad frame time"})
          continue
        try:
          result = await anyio.to_thread.run_sync(
              session.process, message[_LIVE_HEADER.size:], time_s, limits.max_pixels)
        except ValueError as e:
          result = {"error": str(e)}
        await websocket.send_json(result)
    except (fastapi.WebSocketDisconnect, asyncio.CancelledError):
      pass
    finally:
      live_sessions["count"] -= 1

  return app

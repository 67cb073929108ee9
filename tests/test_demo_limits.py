"""The demo's limits on their own: names, admission, streamed uploads, duration and time limits."""
import asyncio

import numpy as np
import pytest

from emo_jax.demo import analysis
from emo_jax.demo import limits
from emo_jax.video import synthetic


def test_only_the_extension_and_a_display_name_come_from_the_client():
  assert limits.extension_of("../../etc/Clip.MP4") == ".mp4"
  assert limits.display_name("../../etc/passwd.mp4") == "passwd.mp4"
  assert limits.display_name("C:\\Users\\x\\clip.webm") == "clip.webm"
  assert limits.display_name("a\x00b\nc.mp4") == "a?b?c.mp4"
  long_name = limits.display_name("x" * 500 + ".mp4")
  assert len(long_name) <= 80 and long_name.endswith(".mp4")
  for name in ("", "clip", "clip.exe", "clip.mp4.exe", "clip.mp4/"):
    with pytest.raises(limits.RequestError) as error:
      limits.extension_of(name)
    assert error.value.status == 415


def test_admission_runs_some_queues_some_and_refuses_the_rest():
  async def scenario():
    admission = limits.Admission(max_running=1, max_waiting=1)
    first, second = admission.admit(), admission.admit()
    with pytest.raises(limits.RequestError) as error:
      admission.admit()
    assert error.value.status == 503 and error.value.retry_after_s
    order = []

    async def run(ticket, name):
      async with ticket.running():
        order.append(f"{name} start")
        await asyncio.sleep(0.01)
        order.append(f"{name} end")
      ticket.release()

    await asyncio.gather(run(first, "a"), run(second, "b"))
    assert order == ["a start", "a end", "b start", "b end"]  # one at a time
    assert admission.num_admitted == 0
    admission.admit().release()
  asyncio.run(scenario())


def test_save_upload_stops_at_the_limit_and_refuses_empty_files(tmp_path):
  async def chunks(sizes):
    for size in sizes:
      yield b"x" * size

  path = str(tmp_path / "upload.mp4")
  assert asyncio.run(limits.save_upload(chunks([10, 10]), path, 20)) == 20
  for sizes, status in (([10, 11], 413), ([], 400)):
    with pytest.raises(limits.RequestError) as error:
      asyncio.run(limits.save_upload(chunks(sizes), path, 20))
    assert error.value.status == status


def test_private_directory_is_removed_with_its_files(tmp_path):
  with limits.private_directory(str(tmp_path)) as directory:
    (tmp_path / directory / "upload.mp4").write_bytes(b"x")
    assert oct((tmp_path / directory).stat().st_mode & 0o777) == "0o700"
  assert not any(tmp_path.iterdir())


@pytest.fixture(scope="module")
def fer_run():
  return synthetic.untrained_run("fer2013_cnn")


def test_the_time_limit_returns_the_results_so_far(fer_run, tmp_path):
  clip = synthetic.one_face(30, (160, 120))
  path = synthetic.write_video(tmp_path / "upload.mp4", clip.frames, clip.fps)
  result = analysis.analyze_upload(path, "clip.mp4", fer_run,
                                   limits.Limits(analysis_time_limit_s=0.0))
  assert "time limit" in result["note"] and "clip.mp4" in result["note"]
  assert str(tmp_path) not in result["note"]
  assert result["summary"]["complete"] is False and result["summary"]["num_frames"] == 1


def test_a_video_over_the_duration_limit_is_refused_before_analysis(fer_run, tmp_path):
  path = synthetic.write_video(tmp_path / "upload.mp4", np.zeros((60, 48, 64, 3), np.uint8), 10)
  with pytest.raises(limits.RequestError) as error:
    analysis.analyze_upload(path, "long.mp4", fer_run, limits.Limits(max_video_s=2))
  assert error.value.status == 413 and "6 s" in error.value.message


def test_an_image_is_analysed_and_its_face_reported_from_one_frame(fer_run, tmp_path):
  import cv2  # pylint: disable=g-import-not-at-top
  path = str(tmp_path / "upload.png")
  cv2.imwrite(path, cv2.cvtColor(synthetic.one_face(1, (320, 240)).frames[0], cv2.COLOR_RGB2BGR))
  result = analysis.analyze_upload(path, "face.png", fer_run, limits.Limits())
  assert result["kind"] == "image" and result["annotated"].startswith("data:image/png;base64,")
  assert [face["track_id"] for face in result["faces"]] == [1]
  assert result["faces"][0]["label"] in fer_run.class_names

"""`python -m emo_jax.predict` with the bundled face model on real and bad inputs (emo_jax/predict.py)."""
import json

import cv2
import numpy as np
import pytest

from emo_jax import checkpoints
from emo_jax import predict
from emo_jax.data import decode


@pytest.fixture(scope="module")
def bundled_run():
  return checkpoints.load_bundled()


@pytest.fixture(scope="module")
def happy_clip(cremad_shared_dir):
  return cremad_shared_dir / "VideoFlash" / "1001_DFA_HAP_XX.flv"


def test_aggregate():
  frames = np.array([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8]])
  np.testing.assert_allclose(predict.aggregate(frames, "mean"), [1.6 / 3, 1.4 / 3])
  geometric = np.exp(np.log(frames).mean(0))
  np.testing.assert_allclose(predict.aggregate(frames, "log_mean"), geometric / geometric.sum())
  with pytest.raises(ValueError, match="aggregate"):
    predict.aggregate(frames, "max")


def test_real_clip_every_frame_classified(bundled_run, happy_clip):
  result = predict.predict(happy_clip, bundled_run, max_frames=0)
  num_frames = decode.decode_video(str(happy_clip), 1).num_source_frames
  assert len(result.frames) == num_frames  # Every frame looked at.
  assert result.face_found_ratio > 0.9
  assert result.class_name in bundled_run.class_names
  assert result.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
  with_face = [f for f in result.frames if f["box"] is not None]
  np.testing.assert_allclose(np.mean([f["probabilities"] for f in with_face], 0),
                             result.probabilities, atol=1e-4)
  # The face is in the upper middle of CREMA-D's 480x360 frames.
  x, y, w, h = with_face[0]["box"]
  assert 100 < x + w / 2 < 380 and 20 < y + h / 2 < 250


def test_command_line_json_many_files_and_images(happy_clip, tmp_path, capsys):
  frame = decode.read_frames(str(happy_clip), 1)[0]
  image = tmp_path / "face.png"
  cv2.imwrite(str(image), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
  assert predict.main([str(happy_clip), str(image), "--json", "--max_frames", "8"]) == 0
  outputs = json.loads(capsys.readouterr().out)
  assert [o["path"] for o in outputs] == [str(happy_clip), str(image)]
  for output in outputs:
    assert set(output) >= {"probabilities", "class_name", "frames", "face_found_ratio"}
    assert output["class_name"] == max(output["probabilities"], key=output["probabilities"].get)
    assert output["cremad_classes"]["happy"] == "HAP" and output["cremad_classes"]["surprise"] is None
  assert len(outputs[0]["frames"]) == 8 and len(outputs[1]["frames"]) == 1


def test_truncated_video_is_read_up_to_the_damage(bundled_run, happy_clip, tmp_path):
  data = happy_clip.read_bytes()
  truncated = tmp_path / "truncated.flv"
  truncated.write_bytes(data[:int(len(data) * 0.6)])
  result = predict.predict(truncated, bundled_run, max_frames=0)
  assert result.class_name is not None and 0 < len(result.frames)


def _write_video(path, frames, fps=25):
  writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                           (frames.shape[2], frames.shape[1]))
  for frame in frames:
    writer.write(frame)
  writer.release()


def test_no_face_gives_no_class(bundled_run, tmp_path, capsys):
  video = tmp_path / "wall.mp4"
  rng = np.random.default_rng(0)
  _write_video(video, np.repeat(rng.integers(90, 110, (1, 120, 160, 3), dtype=np.uint8), 10, 0))
  result = predict.predict(video, bundled_run)
  assert result.class_name is None and result.probabilities is None
  assert result.face_found_ratio == 0.0 and "no face" in result.note
  assert predict.main([str(video), "--json"]) == 1
  output = json.loads(capsys.readouterr().out)
  assert output["class_name"] is None and output["face_found_ratio"] == 0.0


@pytest.mark.parametrize("name, content", [("empty.mp4", b""), ("notes.mp4", b"not a video\n" * 50),
                                           ("picture.jpg", b"GIF89a not really"),
                                           ("missing.mp4", None)])
def test_bad_files_are_clear_errors(tmp_path, capsys, name, content):
  path = tmp_path / name
  if content is not None:
    path.write_bytes(content)
  assert predict.main([str(path)]) == 1
  err = capsys.readouterr().err
  assert err.startswith("error: ") and str(path) in err and "Traceback" not in err


def test_damaged_bundle_is_refused_by_the_command_line(tmp_path, capsys, monkeypatch, happy_clip):
  def damaged(name):
    raise checkpoints.BundleError(f"{name}: has SHA-256 0000, but its manifest records 1111")
  monkeypatch.setattr(checkpoints, "load_bundled", damaged)
  assert predict.main([str(happy_clip)]) == 2
  assert "SHA-256" in capsys.readouterr().err

"""The video stages alone on arrays the tests make: tracking, smoothing, windows, classifier."""
import math

import numpy as np
import pytest

from emo_jax.video import classify
from emo_jax.video import detect
from emo_jax.video import smooth
from emo_jax.video import synthetic
from emo_jax.video import track


def _detection(x0, y0, x1, y1, score=1.0):
  return detect.Detection(np.array([x0, y0, x1, y1], np.float32), score)


def test_iou_matrix_hand_computed():
  a = np.array([[0, 0, 10, 10], [0, 0, 2, 2]], np.float32)
  b = np.array([[5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 10, 10]], np.float32)
  expected = np.array([[50 / 150, 0, 1], [0, 0, 4 / 100]])
  np.testing.assert_allclose(track.iou_matrix(a, b), expected)


def test_two_faces_that_cross_keep_their_ids_through_a_missed_detection():
  tracker = track.Tracker(min_hits=2)
  fps, num_frames = 25.0, 50
  ids_by_direction = {}
  for i in range(num_frames):
    time = i / fps
    left_to_right = 20 + 8 * i  # x0 of a 60-px face moving right, on the same row as
    right_to_left = 420 - 8 * i  # the other moving left: they fully overlap at i = 25.
    detections = [_detection(left_to_right, 100, left_to_right + 60, 160),
                  _detection(right_to_left, 104, right_to_left + 60, 164)]
    if 22 <= i <= 28:
      detections = detections[1:]  # the first face is hidden behind the second
    tracks = tracker.update(detections, time)
    for t in tracks:
      direction = "right" if t.velocity[0] > 0 else "left"
      if i >= 3:
        ids_by_direction.setdefault(direction, set()).add(t.track_id)
    if i >= 1:
      assert len(tracks) == 2, (i, tracks)
  assert ids_by_direction == {"right": {1}, "left": {2}}


def test_tracks_end_after_max_missed_s_and_a_lone_false_positive_is_never_reported():
  tracker = track.Tracker(max_missed_s=0.2, min_hits=2)
  face = _detection(100, 100, 160, 160)
  assert tracker.update([face], 0.0) == []  # tentative: one detection
  reported = tracker.update([face, _detection(300, 300, 340, 340)], 0.04)
  assert [t.track_id for t in reported] == [1]  # the lone box at 300 is tentative
  assert sorted(t.track_id for t in tracker.tracks) == [0, 1]
  assert [t.track_id for t in tracker.update([face], 0.08)] == [1]
  # The false positive was dropped at its first miss; the face survives 0.2 s unseen.
  assert [t.track_id for t in tracker.tracks] == [1]
  assert [t.track_id for t in tracker.update([], 0.2)] == [1]
  assert not tracker.update([], 0.2)[0].detected
  assert tracker.update([], 0.3) == []
  assert tracker.tracks == []
  # A face that comes back later is a new track (ids are never reused).
  tracker.update([face], 1.0)
  assert [t.track_id for t in tracker.update([face], 1.04)] == [2]


def test_needs_detection_while_a_face_is_new_or_was_just_missed():
  """What `Analyzer` reads to detect on the next frame too (between its every-k frames)."""
  tracker = track.Tracker()
  face = _detection(0, 0, 10, 10)
  assert not tracker.needs_detection
  for time in (0.0, 0.04):
    tracker.update([face], time)
    assert tracker.needs_detection  # tentative
  assert [t.track_id for t in tracker.update([face], 0.08)] == [1]
  assert not tracker.needs_detection
  tracker.update([face, _detection(50, 50, 60, 60)], 0.12)
  assert tracker.needs_detection  # a new tentative box
  tracker.update([face], 0.16)  # the new box's first miss drops it
  assert not tracker.needs_detection
  tracker.update(None, 0.2)  # detection skipped: not a miss
  assert not tracker.needs_detection
  tracker.update([], 0.24)  # the reported face missed
  assert tracker.needs_detection
  tracker.update([face], 0.28)
  assert not tracker.needs_detection


def test_skipped_detection_frames_carry_boxes_at_constant_velocity():
  tracker = track.Tracker(min_hits=1)
  tracker.update([_detection(0, 0, 10, 10)], 0.0)
  tracker.update([_detection(4, 0, 14, 10)], 1.0)  # 4 px/s to the right
  (carried,) = tracker.update(None, 1.5)
  np.testing.assert_allclose(carried.box, [6, 0, 16, 10])
  assert not carried.detected


def test_ema_is_frame_rate_independent_with_its_time_constant_in_seconds():
  start, step = np.array([1.0, 0.0], np.float32), np.array([0.0, 1.0], np.float32)
  results = {}
  for fps in (10, 25, 50):
    smoother = smooth.EmaSmoother(time_constant_s=0.5)
    smoother.update(7, start, 0.0)
    for i in range(1, fps + 1):  # one second of a constant new value
      value = smoother.update(7, step, i / fps)
    results[fps] = value
  expected_start_weight = math.exp(-1.0 / 0.5)
  for value in results.values():
    np.testing.assert_allclose(value, [expected_start_weight, 1 - expected_start_weight],
                               rtol=1e-5)
  smoother = smooth.EmaSmoother(0.5)
  smoother.update(1, start, 0.0)
  smoother.update(2, start, 0.0)
  smoother.keep_only([2])
  np.testing.assert_allclose(smoother.update(1, step, 0.1), step)  # track 1 was forgotten


def test_clip_windows_sample_at_the_training_rate_and_repeat_while_filling():
  windows = smooth.ClipWindows(num_frames=4, interval_s=0.25)
  crops = [np.full((2, 2, 1), i, np.uint8) for i in range(30)]
  changed = [windows.add(5, crops[i], i / 25) for i in range(30)]  # 25 fps, 1.2 s
  # A new crop every 0.25 s: frames 0, 7 (0.28 s), 14, 21, 28 (6.25 frames apart, rounded up).
  assert [i for i, c in enumerate(changed) if c] == [0, 7, 14, 21, 28]
  assert windows.clip(5)[:, 0, 0, 0].tolist() == [7, 14, 21, 28]
  fresh = smooth.ClipWindows(num_frames=4, interval_s=0.25)
  fresh.add(1, crops[3], 0.0)
  assert fresh.clip(1)[:, 0, 0, 0].tolist() == [3, 3, 3, 3]


@pytest.fixture(scope="module")
def fer_run():
  return synthetic.untrained_run("fer2013_cnn")


def test_classifier_pads_face_batches_so_it_compiles_once_per_batch_size(fer_run):
  classifier = classify.FaceClassifier(fer_run)
  classify._probabilities.clear_cache()  # pylint: disable=protected-access
  traces_before = classify.num_traces
  rng = np.random.default_rng(0)
  clips = rng.integers(0, 256, (5, *fer_run.frames_shape), dtype=np.uint8)
  for count in (1, 3, 4, 2, 1, 3, 4):
    probabilities = classifier(clips[:count])
    assert probabilities.shape == (count, 7)
    np.testing.assert_allclose(probabilities.sum(-1), 1, rtol=1e-5)
  assert classify.num_traces - traces_before == 3  # batch sizes 1, 2, 4
  # Padding does not change a face's result.
  np.testing.assert_allclose(classifier(clips[:3])[1], classifier(clips[1:2])[0], atol=1e-5)
  assert classify.num_traces - traces_before == 3
  # 17 faces: chunks of 16 + 1, no new size.
  assert classifier(np.repeat(clips[:1], 17, 0)).shape == (17, 7)
  assert classify.num_traces - traces_before == 4


def test_crop_is_the_training_crop_of_the_box(fer_run):
  assert classify.crop_margin(fer_run) == 0.1  # FER2013's framing
  classifier = classify.FaceClassifier(fer_run, margin=0.25)
  image = np.zeros((100, 200, 3), np.uint8)
  image[20:60, 50:90] = 255  # a white 40x40 "face"
  square = classify.box_to_square(np.array([50, 20, 90, 60]), 100, 200)
  assert (square.width, square.height) == (60, 60)  # 40 + 2 * 0.25 * 40
  assert (square.x, square.y) == (40, 10)
  crop = classifier.crop(image, np.array([50, 20, 90, 60], np.float32))
  assert crop.shape == (48, 48, 1)
  assert crop[24, 24, 0] == 255 and crop[1, 1, 0] == 0
  # Near an edge the square is shifted inside the frame, never padded.
  edge = classify.box_to_square(np.array([0, 0, 40, 40]), 100, 200)
  assert (edge.x, edge.y, edge.width) == (0, 0, 60)


def test_haar_searches_faces_from_a_share_of_the_frame_height():
  frame = synthetic.one_face(1, (640, 480)).frames[0]  # the face: ~45% of the height
  (default,) = detect.HaarDetector()(frame)  # from 15%
  (from_window_size,) = detect.HaarDetector(min_face_share=0.0)(frame)
  np.testing.assert_array_equal(default.box, from_window_size.box)
  assert detect.HaarDetector(min_face_share=0.6)(frame) == []

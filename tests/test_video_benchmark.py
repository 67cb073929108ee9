"""benchmarks/video.py's scoring and its summary target, on numbers the test makes."""
import numpy as np

from benchmarks import summary
from benchmarks import video as video_benchmark
from emo_jax.video import detect


def test_detector_score_counts_hits_and_false_positives():
  truth = [np.array([[0, 0, 10, 10]]), np.array([[0, 0, 10, 10], [50, 50, 60, 60]])]
  found = [[detect.Detection(np.array([1, 1, 11, 11], np.float32), 1.0),   # hit
            detect.Detection(np.array([30, 30, 40, 40], np.float32), 1.0)],  # false positive
           [detect.Detection(np.array([50, 50, 60, 60], np.float32), 1.0)]]  # 1 of 2 faces
  assert video_benchmark._score(found, truth) == {  # pylint: disable=protected-access
      "hit_rate": round(2 / 3, 4), "false_positives": 1, "false_positives_per_frame": 0.5}


def test_summary_target_takes_the_fastest_one_face_row():
  rows = [{"name": "analyze/one_face/haar/every_1", "fps": 12.0, "cpu_ms_per_frame": 32.0},
          {"name": "analyze/one_face/mediapipe/every_5", "fps": 40.0, "cpu_ms_per_frame": 4.0,
           "load_average": 3.0},
          {"name": "analyze/two_faces/mediapipe/every_5", "fps": 99.0}]
  (row,) = summary.video(rows)
  assert row["measured"] == 40.0 and row["met"] == "yes"
  assert "haar/every_1 12.0 fps" in row["detail"]
  assert summary.video([]) == []
  # With the fer package's rows of the same run: the fastest one-face row over fer's.
  fer_rows = [{"name": "analyze/fer_package/one_face/haar/every_1", "fps": 16.0},
              {"name": "analyze/fer_package/one_face/haar/every_1/fer_default_outputs",
               "fps": 10.0}]
  _, ratio = summary.video(rows + fer_rows)
  assert ratio["measured"] == 2.5 and ratio["met"] == "NO" and ratio["target"] == ">= 3x"

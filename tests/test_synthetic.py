"""Tests for the synthetic CREMA-D generator, the emo_jax/data/synthetic/ package."""
import itertools
import json
import re
import wave

import numpy as np
import pytest

from emo_jax.data import cremad
from emo_jax.data import decode
from emo_jax.data import faces
from emo_jax.data import synthetic

TINY_SIZE = (160, 120)
CSV_FILES = ("VideoDemographics.csv", "SentenceFilenames.csv",
             "processedResults/tabulatedVotes.csv", "processedResults/summaryTable.csv")


@pytest.fixture(scope="module")
def tiny_tree(tmp_path_factory):
  """2 actors x 3 clips of 160x120 video, through the 2-process pool."""
  root = tmp_path_factory.mktemp("synthetic") / "tree"
  summary = synthetic.generate(root, num_actors=2, seed=0, clips_per_actor=3, num_workers=2,
                               frame_size=TINY_SIZE)
  return root, summary


def _field_kinds(line: str) -> list[str]:
  """'q' for each quoted field and 'n' for each number of one CSV line."""
  kinds = []
  for field in line.split(","):
    if re.fullmatch(r'"[^"]*"', field):
      kinds.append("q")
    elif re.fullmatch(r"-?\d+(\.\d+)?(e-?\d+)?", field):
      kinds.append("n")
    else:
      kinds.append(f"?{field}")
  return kinds


def test_tree_has_the_cremad_layout(tiny_tree):
  root, summary = tiny_tree
  videos = sorted(p.stem for p in (root / "VideoFlash").iterdir())
  audios = sorted(p.stem for p in (root / "AudioWAV").iterdir())
  assert len(videos) == 6 == summary.num_clips and videos == audios
  assert all(p.suffix == ".flv" for p in (root / "VideoFlash").iterdir())
  clips = [cremad.parse_clip_name(name) for name in videos]
  assert {c.actor for c in clips} == {1001, 1002} and summary.actors == (1001, 1002)
  for actor in (1001, 1002):  # The subset is class-balanced: 3 clips, 3 emotions.
    assert len({c.emotion for c in clips if c.actor == actor}) == 3
  for name in CSV_FILES + (synthetic.MARKER_FILE,):
    assert (root / name).is_file(), name
  assert json.loads((root / synthetic.MARKER_FILE).read_text())["seed"] == 0


def test_metadata_lists_exactly_the_generated_clips(tiny_tree):
  root, _ = tiny_tree
  metadata = cremad.load_metadata(root, require_all=False)
  names = sorted(p.stem for p in (root / "VideoFlash").iterdir())
  assert sorted(metadata.sentence_filenames) == names
  assert set(metadata.demographics) == {1001, 1002}
  for modality in ("voice", "face", "multimodal"):
    assert sorted(metadata.votes_by_modality[modality]) == names
  for votes in metadata.votes.values():
    assert votes.num_responses >= 6 * 3  # Three presentations of >= 6 raters each.


def test_csv_headers_and_quoting_match_the_real_files(tiny_tree, cremad_shared_dir):
  root, _ = tiny_tree
  for name in CSV_FILES:
    real = (cremad_shared_dir / name).read_text().splitlines()
    ours = (root / name).read_text().splitlines()
    assert ours[0] == real[0], name
    assert _field_kinds(ours[1]) == _field_kinds(real[1]), name
    # Same trailing-newline convention (the real SentenceFilenames.csv has none).
    assert ((cremad_shared_dir / name).read_text().endswith("\n")
            == (root / name).read_text().endswith("\n")), name


def test_vote_rows_are_voice_then_face_then_multimodal(tiny_tree):
  root, _ = tiny_tree
  rows = (root / "processedResults/tabulatedVotes.csv").read_text().splitlines()[1:]
  assert [r.split(",")[0] for r in rows] == [f'"{block}{n:05d}"' for block in (1, 2, 3)
                                             for n in range(1, 7)]
  for row in rows:
    fields = row.split(",")
    counts = [int(v) for v in fields[1:7]]
    assert sum(counts) == int(fields[8])
    assert float(fields[9]) == pytest.approx(max(counts) / sum(counts))
    winners = [cremad.VOTE_LETTERS[i] for i, c in enumerate(counts) if c == max(counts)]
    assert fields[10] == f'"{":".join(winners)}"'


def test_sentence_order_matches_the_real_stimulus_order(cremad_shared_dir):
  real = cremad.load_sentence_filenames(cremad_shared_dir)
  assert [c.name for c in synthetic.all_clips(1001)] == real[:82]
  assert len(synthetic.all_clips(1001)) == 82


def test_clips_decode_with_pyav_and_decord_and_have_audio(tiny_tree):
  root, _ = tiny_tree
  path = next((root / "VideoFlash").iterdir())
  plan = synthetic.make_clip_plan(0, cremad.parse_clip_name(path))
  by_pyav = decode.read_frames(path, plan.num_frames, backend="pyav")
  by_decord = decode.read_frames(path, plan.num_frames, backend="decord")
  assert by_pyav.shape == (plan.num_frames, 120, 160, 3)
  np.testing.assert_array_equal(by_pyav, by_decord)
  decoded = decode.decode_video(path, 4, backend="pyav")
  assert decoded.num_source_frames == plan.num_frames
  assert decoded.fps == pytest.approx(29.97, abs=0.01)
  audio = decode.read_audio(path, sample_rate=16000)
  seconds = plan.num_frames / 29.97
  assert abs(audio.size / 16000 - seconds) < 0.15 and np.abs(audio).max() > 0.05
  with wave.open(str(root / "AudioWAV" / f"{path.stem}.wav")) as wav:
    assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16000)
    assert wav.getnframes() == round(seconds * 16000)


def test_same_seed_same_tree_other_seed_other_tree(tiny_tree, tmp_path):
  root, _ = tiny_tree
  again = tmp_path / "again"
  synthetic.generate(again, num_actors=2, seed=0, clips_per_actor=3, num_workers=1,
                     frame_size=TINY_SIZE)
  for name in CSV_FILES:
    assert (again / name).read_bytes() == (root / name).read_bytes(), name
  for path in sorted((root / "AudioWAV").iterdir()):
    assert (again / "AudioWAV" / path.name).read_bytes() == path.read_bytes()
  for path in sorted((root / "VideoFlash").iterdir())[:2]:
    np.testing.assert_array_equal(decode.read_frames(again / "VideoFlash" / path.name, 8),
                                  decode.read_frames(path, 8))
  other = tmp_path / "other"
  synthetic.generate(other, num_actors=2, seed=1, clips_per_actor=3, num_workers=1,
                     frame_size=TINY_SIZE)
  assert ((other / "processedResults/tabulatedVotes.csv").read_bytes()
          != (root / "processedResults/tabulatedVotes.csv").read_bytes())


def test_a_clip_does_not_depend_on_the_subset():
  clip = cremad.ClipName(1003, "DFA", "SAD", "XX")
  assert synthetic.make_clip_plan(5, clip) == synthetic.make_clip_plan(5, clip)
  first = next(synthetic.render_frames(5, synthetic.make_clip_plan(5, clip), TINY_SIZE))
  synthetic.make_actor(5, 1001)  # Other work in between changes nothing.
  again = next(synthetic.render_frames(5, synthetic.make_clip_plan(5, clip), TINY_SIZE))
  np.testing.assert_array_equal(first, again)


def test_select_clips_is_class_balanced():
  chosen = synthetic.select_clips(1001, seed=0, clips_per_actor=12)
  assert sorted(c.emotion for c in chosen) == sorted(cremad.EMOTIONS * 2)
  assert chosen == sorted(chosen, key=synthetic.all_clips(1001).index)  # Stimulus order.
  assert synthetic.select_clips(1001, 0, 200) == synthetic.all_clips(1001)
  assert len(synthetic.select_clips(1001, 0, None, sentences=("IEO",))) == 16


def test_expression_grows_with_the_level():
  def apex_strength(level):
    plan = synthetic.make_clip_plan(0, cremad.ClipName(1001, "IEO", "HAP", level))
    actor = synthetic.make_actor(0, 1001)
    return max(synthetic.face_geometry(actor, plan, i)["corner"] - actor.baseline["corner"]
               for i in range(plan.num_frames))
  low, medium, high = (apex_strength(level) for level in ("LO", "MD", "HI"))
  assert 0 < low < medium < high


def test_neutral_clips_show_no_expression():
  plan = synthetic.make_clip_plan(0, cremad.ClipName(1002, "TIE", "NEU", "XX"))
  actor = synthetic.make_actor(0, 1002)
  for index in range(0, plan.num_frames, 7):
    geometry = synthetic.face_geometry(actor, plan, index)
    assert geometry["brow_tilt"] == actor.baseline["brow_tilt"]
    assert geometry["corner"] == actor.baseline["corner"]


def test_faces_are_found_by_the_haar_cascade():
  found = []
  for actor, emotion in ((1001, "FEA"), (1004, "HAP"), (1005, "ANG"), (1010, "SAD")):
    plan = synthetic.make_clip_plan(0, cremad.ClipName(actor, "ITS", emotion, "XX"))
    frames = np.stack(list(itertools.islice(synthetic.render_frames(0, plan), 0, 60, 12)))
    found += [box is not None for box in faces.detect_faces(frames)]
  assert np.mean(found) >= 0.8


def test_votes_are_surer_for_stronger_clips():
  for emotion in ("ANG", "DIS", "FEA", "HAP", "SAD"):
    weak = synthetic.vote_probabilities(emotion, 0.35, clarity=1.0)
    strong = synthetic.vote_probabilities(emotion, 1.0, clarity=1.0)
    label = cremad.EMOTIONS.index(emotion)
    assert weak.sum() == pytest.approx(1) and strong.sum() == pytest.approx(1)
    assert strong[label] > weak[label] and strong.argmax() == label
    assert weak[cremad.EMOTIONS.index("NEU")] > strong[cremad.EMOTIONS.index("NEU")]


@pytest.mark.parametrize("values, expected", [
    ([69.1], "69.1"), ([92.2222], "92.22"), ([57.0], "57"),  # As in the real summaryTable.
    ([30.6667, 51.0], "30.67:51.00"), ([66.0, 50.0], "66:50"), ([37.2, 58.6], "37.2:58.6")])
def test_summary_levels_are_formatted_as_in_the_real_file(values, expected):
  assert synthetic._levels(values) == expected


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_actors=0), "num_actors must be an integer from 1 to 91"),
    (dict(num_actors=92), "num_actors must be an integer from 1 to 91"),
    (dict(seed=-1), "seed must be a non-negative integer"),
    (dict(clips_per_actor=0), "clips_per_actor must be a positive integer"),
    (dict(num_workers=0), "num_workers must be a positive integer"),
    (dict(frame_size=(161, 120)), "frame_size must be"),
    (dict(sentences=("XYZ",)), "unknown: ['XYZ']"),
])
def test_bad_arguments_are_refused(tmp_path, kwargs, message):
  with pytest.raises(ValueError, match=re.escape(message)):
    synthetic.generate(tmp_path / "out", **kwargs)
  assert not (tmp_path / "out").exists()


def test_a_foreign_directory_is_not_overwritten(tmp_path):
  (tmp_path / "VideoFlash").mkdir()
  (tmp_path / "VideoFlash" / "1001_DFA_ANG_XX.flv").write_bytes(b"real clip")
  with pytest.raises(FileExistsError, match="not a synthetic tree.*--overwrite"):
    synthetic.generate(tmp_path, num_actors=1, clips_per_actor=1, frame_size=(64, 64))
  assert (tmp_path / "VideoFlash" / "1001_DFA_ANG_XX.flv").read_bytes() == b"real clip"
  (tmp_path / "notes.txt").write_text("kept")
  summary = synthetic.generate(tmp_path, num_actors=1, clips_per_actor=1, frame_size=(64, 64),
                               num_workers=1, overwrite=True)
  assert sorted(p.stem for p in (tmp_path / "VideoFlash").iterdir()) == [
      c.name for c in synthetic.select_clips(1001, 0, 1)]
  assert summary.num_clips == 1 and (tmp_path / "notes.txt").read_text() == "kept"


def test_a_previous_synthetic_tree_is_replaced_without_stale_clips(tmp_path):
  synthetic.generate(tmp_path, num_actors=1, clips_per_actor=2, frame_size=(64, 64),
                     num_workers=1)
  synthetic.generate(tmp_path, num_actors=1, clips_per_actor=1, frame_size=(64, 64),
                     num_workers=1, seed=3)
  names = sorted(p.stem for p in (tmp_path / "VideoFlash").iterdir())
  assert names == [c.name for c in synthetic.select_clips(1001, 3, 1)]
  assert len((tmp_path / "SentenceFilenames.csv").read_text().splitlines()) == 2


def test_cli(tmp_path, capsys):
  summary = synthetic.main(["--out", str(tmp_path / "cli"), "--actors", "1", "--seed", "2",
                            "--clips_per_actor", "1", "--sentences", "DFA",
                            "--frame_size", "64x64", "--num_workers", "1"])
  assert summary.num_clips == 1 and summary.frame_size == (64, 64)
  assert "wrote 1 clips" in capsys.readouterr().out
  with pytest.raises(SystemExit):
    synthetic.main(["--out", str(tmp_path / "bad"), "--actors", "100"])
  assert "num_actors must be an integer from 1 to 91" in capsys.readouterr().err

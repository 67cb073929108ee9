"""Tests for the CREMA-D metadata readers and list_clips in emo_jax/data/cremad.py."""
import os

import numpy as np
import pytest

from emo_jax.data import cremad


@pytest.fixture(scope="module")
def metadata(cremad_shared_dir):
  return cremad.load_metadata(cremad_shared_dir)


def _write(path, text):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w") as f:
    f.write(text)


def _write_demographics(root):
  _write(os.path.join(root, cremad.DEMOGRAPHICS_CSV),
         '"ActorID","Age","Sex","Race","Ethnicity"\n'
         '1001,51,"Male","Caucasian","Not Hispanic"\n'
         '1002,21,"Female","Asian","Hispanic"\n')


def _touch_clips(root, names):
  os.makedirs(os.path.join(root, "VideoFlash"), exist_ok=True)
  for name in names:
    _write(os.path.join(root, "VideoFlash", name), "x")


# --- Real files. ---


def test_demographics_cover_the_91_actors(metadata):
  assert tuple(sorted(metadata.demographics)) == cremad.ACTORS
  assert metadata.demographics[1001] == cremad.Demographics(51, "Male", "Caucasian",
                                                            "Not Hispanic")
  sexes = [d.sex for d in metadata.demographics.values()]
  assert (sexes.count("Male"), sexes.count("Female")) == (48, 43)


def test_sentence_filenames_are_the_7442_clips(metadata):
  names = metadata.sentence_filenames
  assert len(names) == 7442 == len(set(names))
  assert names[:2] == ["1001_IEO_NEU_XX", "1001_IEO_HAP_LO"]
  assert names[-1] == "1091_WSI_DIS_XX"
  assert {cremad.parse_clip_name(n).actor for n in names} == set(cremad.ACTORS)
  assert cremad.BROKEN_CLIPS <= set(names)


def test_votes_pool_the_three_presentations(metadata):
  # tabulatedVotes.csv rows 100062 (voice), 200062 (face), 300062 (audio-visual).
  face = metadata.votes_by_modality["face"]["1001_DFA_ANG_XX"]
  np.testing.assert_array_equal(face.counts, [5, 2, 0, 0, 3, 0])
  assert (face.num_responses, face.agreement) == (10, 0.5)
  voice = metadata.votes_by_modality["voice"]["1001_DFA_ANG_XX"]
  np.testing.assert_array_equal(voice.counts, [6, 2, 0, 0, 1, 0])
  pooled = metadata.votes["1001_DFA_ANG_XX"]
  np.testing.assert_array_equal(pooled.counts, [19, 5, 0, 0, 4, 0])
  assert pooled.num_responses == 28
  assert pooled.agreement == pytest.approx(19 / 28)
  distribution = pooled.distribution
  assert distribution.dtype == np.float32 and distribution.shape == (6,)
  np.testing.assert_allclose(distribution, np.array([19, 5, 0, 0, 4, 0]) / 28, rtol=1e-6)
  assert distribution.sum() == pytest.approx(1.0)


def test_every_clip_has_votes_in_every_modality(metadata):
  for modality in cremad.MODALITIES:
    votes = metadata.votes_by_modality[modality]
    assert set(votes) == set(metadata.sentence_filenames)
  counts = np.stack([v.counts for v in metadata.votes.values()])
  totals = np.array([v.num_responses for v in metadata.votes.values()])
  np.testing.assert_array_equal(counts.sum(axis=1), totals)


def test_load_votes_selects_a_modality(cremad_shared_dir):
  face = cremad.load_votes(cremad_shared_dir, modality="face")
  np.testing.assert_array_equal(face["1001_DFA_ANG_XX"].counts, [5, 2, 0, 0, 3, 0])
  with pytest.raises(ValueError, match="modality must be"):
    cremad.load_votes(cremad_shared_dir, modality="video")


def test_face_votes_of_known_rows(metadata, cremad_shared_dir):
  assert metadata.human_votes["1001_DFA_FEA_XX"] == cremad.HumanVotes(
      face=cremad.EMOTIONS.index("DIS"), voice=cremad.EMOTIONS.index("FEA"),
      multimodal=cremad.EMOTIONS.index("FEA"))
  face_votes = cremad.load_face_votes(cremad_shared_dir)
  assert face_votes["1001_IEO_ANG_HI"] == 0  # "A".
  assert face_votes["1001_IEO_FEA_LO"] == cremad.NO_VOTE  # Tie "F:N".
  assert face_votes == metadata.face_votes
  assert sum(v == cremad.NO_VOTE for v in face_votes.values()) == 470


def test_list_clips_on_the_real_files(cremad_shared_dir):
  clips = cremad.list_clips(cremad_shared_dir)
  assert [c.name for c in clips] == [f"1001_DFA_{e}_XX" for e in cremad.EMOTIONS]
  assert [c.label for c in clips] == list(range(6))


# --- Behaviour on small trees. ---


def test_vote_label():
  assert [cremad.vote_label(v) for v in cremad.VOTE_LETTERS] == list(range(6))
  assert cremad.vote_label("A:N") == cremad.vote_label("") == cremad.NO_VOTE


def test_distribution_is_uniform_without_responses():
  votes = cremad.Votes(np.zeros(6, np.int64), 0, 0.0)
  np.testing.assert_array_equal(votes.distribution, np.full(6, 1 / 6, np.float32))


def test_missing_csv_names_the_file(tmp_path):
  with pytest.raises(FileNotFoundError, match=r"VideoDemographics\.csv.*git lfs clone"):
    cremad.load_metadata(tmp_path)
  _write_demographics(tmp_path)
  with pytest.raises(FileNotFoundError, match=r"SentenceFilenames\.csv"):
    cremad.load_metadata(tmp_path)


def test_optional_csvs_may_be_absent(tmp_path):
  _write_demographics(tmp_path)
  metadata = cremad.load_metadata(tmp_path, require_all=False)
  assert metadata.demographics[1002] == cremad.Demographics(21, "Female", "Asian", "Hispanic")
  assert metadata.missing_files == (cremad.SENTENCE_FILENAMES_CSV,
                                    cremad.TABULATED_VOTES_CSV, cremad.SUMMARY_TABLE_CSV)
  assert metadata.votes == {} and metadata.human_votes == {}
  assert metadata.sentence_filenames == []


def test_lfs_stub_and_wrong_columns_are_explained(tmp_path):
  _write(os.path.join(tmp_path, cremad.DEMOGRAPHICS_CSV),
         "version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 4033\n")
  with pytest.raises(ValueError, match="LFS pointer stub.*git lfs pull"):
    cremad.load_demographics(tmp_path)
  _write(os.path.join(tmp_path, cremad.DEMOGRAPHICS_CSV), "ActorID,Age\n1001,51\n")
  with pytest.raises(ValueError, match=r"VideoDemographics\.csv lacks column\(s\) Sex"):
    cremad.load_demographics(tmp_path)


def test_votes_with_an_unknown_query_type_are_rejected(tmp_path):
  _write(os.path.join(tmp_path, cremad.TABULATED_VOTES_CSV),
         '"","A","D","F","H","N","S","fileName","numResponses","agreement"\n'
         '"100001",1,0,0,0,2,0,"1001_IEO_NEU_XX",3,0.667\n'
         '"400001",1,0,0,0,2,0,"1001_IEO_NEU_XX",3,0.667\n')
  with pytest.raises(ValueError, match="400001.*query type"):
    cremad.load_votes(tmp_path)


def test_list_clips_excludes_broken_clips_and_sorts(tmp_path):
  broken = [name + ".flv" for name in sorted(cremad.BROKEN_CLIPS)]
  good = ["1002_DFA_SAD_XX.flv", "1001_IEO_HAP_HI.flv", "1001_DFA_ANG_XX.flv"]
  _touch_clips(tmp_path, good + broken + ["notes.txt"])
  names = [c.name for c in cremad.list_clips(tmp_path)]
  assert names == ["1001_DFA_ANG_XX", "1001_IEO_HAP_HI", "1002_DFA_SAD_XX"]
  all_names = {c.name for c in cremad.list_clips(tmp_path, exclude_broken=False)}
  assert all_names == set(names) | cremad.BROKEN_CLIPS


def test_list_clips_without_videos_says_how_to_get_them(tmp_path):
  with pytest.raises(FileNotFoundError, match="VideoFlash.*git lfs clone.*zip"):
    cremad.list_clips(tmp_path)
  _touch_clips(tmp_path, ["README.txt"])
  with pytest.raises(FileNotFoundError, match="no .flv clips"):
    cremad.list_clips(tmp_path)


def test_list_clips_names_a_malformed_file(tmp_path):
  _touch_clips(tmp_path, ["1001_DFA_ANG_XX.flv", "1001_DFA_ANGRY_XX.flv"])
  with pytest.raises(ValueError, match="1001_DFA_ANGRY_XX.flv"):
    cremad.list_clips(tmp_path)

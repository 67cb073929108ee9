"""The benchmarks `python -m benchmarks.run` runs, in order, each a function of (quick, workspace).

Each entry adapts one benchmark module's `run(quick, ...)` to a shared `Workspace`: a
temporary folder where the synthetic CREMA-D tree is generated once (by the build
benchmark) and reused (decoding on synthetic clips), and the real CREMA-D clips if
they are there (../shared/data/cremad).
"""
import dataclasses
import os
import pathlib
from typing import Callable

DEFAULT_CREMAD_DIR = (pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data" /
                      "cremad")


@dataclasses.dataclass(frozen=True)
class Workspace:
  """What the benchmarks of one run share.

  Attributes:
    tmp: a temporary folder, deleted after the run.
    cremad_dir: a CREMA-D root with real clips (VideoFlash/*.flv and the CSVs), or None.
  """
  tmp: pathlib.Path
  cremad_dir: pathlib.Path | None = None

  @property
  def download_dir(self) -> pathlib.Path:
    return self.tmp / "downloads"

  def synthetic_tree(self, quick: bool) -> pathlib.Path:
    """The build benchmark's synthetic CREMA-D tree (generated here if not yet)."""
    from benchmarks import build  # pylint: disable=g-import-not-at-top
    from tfds_cremad import cremad  # pylint: disable=g-import-not-at-top
    return cremad.synthetic_tree(build.synthetic_config(quick), self.download_dir)


@dataclasses.dataclass(frozen=True)
class Benchmark:
  name: str
  run: Callable[[bool, Workspace], list[dict]]
  description: str = ""


def find_cremad_dir(path: str | os.PathLike | None = None) -> pathlib.Path | None:
  """`path` (or ../shared/data/cremad) if it holds .flv clips, else None."""
  root = pathlib.Path(path or DEFAULT_CREMAD_DIR)
  return root if any(root.glob("VideoFlash/*.flv")) else None


def _ceiling(quick: bool, workspace: Workspace) -> list[dict]:
  del quick, workspace
  from benchmarks import flops  # pylint: disable=g-import-not-at-top
  return [{"name": "ceiling/matmul", **flops.matmul_ceiling()}]


def _build(quick: bool, workspace: Workspace) -> list[dict]:
  from benchmarks import build  # pylint: disable=g-import-not-at-top
  return build.run(quick, workspace.cremad_dir, download_dir=workspace.download_dir)


def _decode(quick: bool, workspace: Workspace) -> list[dict]:
  from benchmarks import decode  # pylint: disable=g-import-not-at-top
  rows = []
  if workspace.cremad_dir:
    rows += [dict(row, clips="real")
             for row in decode.run(quick, workspace.cremad_dir / "VideoFlash")]
  else:
    rows.append({"name": "decode_crop", "clips": "real", "skipped": "no real clips found"})
  # A few synthetic clips (480x360, like the real ones), linked into one folder.
  clips_dir = workspace.tmp / "synthetic_clips"
  clips_dir.mkdir(exist_ok=True)
  paths = sorted(workspace.synthetic_tree(quick).glob("VideoFlash/*.flv"))
  count = 2 if quick else 12
  for path in paths[::max(1, len(paths) // count)][:count]:
    link = clips_dir / path.name
    if not link.exists():
      link.symlink_to(path)
  rows += [dict(row, clips="synthetic") for row in decode.run(quick, clips_dir)]
  return rows


def _input_pipeline(quick: bool, workspace: Workspace) -> list[dict]:
  del workspace
  from benchmarks import pipeline_throughput  # pylint: disable=g-import-not-at-top
  from benchmarks import train_throughput  # pylint: disable=g-import-not-at-top
  return (pipeline_throughput.run(quick)
          + pipeline_throughput.run(quick, shape=train_throughput.FER2013_SHAPE))


def _train(quick: bool, workspace: Workspace) -> list[dict]:
  del workspace
  from benchmarks import train_throughput  # pylint: disable=g-import-not-at-top
  return train_throughput.run(quick)


def _scaling(quick: bool, workspace: Workspace) -> list[dict]:
  del workspace
  from benchmarks import scaling  # pylint: disable=g-import-not-at-top
  return scaling.run(quick)


def _reference_data_path(quick: bool, workspace: Workspace) -> list[dict]:
  from benchmarks import reference_opencv  # pylint: disable=g-import-not-at-top
  return reference_opencv.run(quick, workspace.cremad_dir or workspace.synthetic_tree(quick))


def _reference_train_step(quick: bool, workspace: Workspace) -> list[dict]:
  del workspace
  from benchmarks import reference_pytorch  # pylint: disable=g-import-not-at-top
  return reference_pytorch.run(quick)


def _export(quick: bool, workspace: Workspace) -> list[dict]:
  from benchmarks import export  # pylint: disable=g-import-not-at-top
  tmp = workspace.tmp / "export"
  tmp.mkdir(exist_ok=True)
  return export.run(quick, tmp)


def _video(quick: bool, workspace: Workspace) -> list[dict]:
  from benchmarks import video  # pylint: disable=g-import-not-at-top
  return video.run(quick, workspace.cremad_dir)


SUITE = (
    Benchmark("ceiling", _ceiling,
              "Median rate of a 2048x2048 matmul (float32 on CPU): the MFU ceiling."),
    Benchmark("build", _build,
              "TFDS build of synthetic g16_112 clips with 1 and 2 decoding processes "
              "(benchmarks/build.py)."),
    Benchmark("decode", _decode,
              "Decode + face crop of 16 grey 112x112 frames per clip, on the real clips and "
              "on synthetic ones (benchmarks/decode.py)."),
    Benchmark("input_pipeline", _input_pipeline,
              "grain over array_record, clips/s delivered to the device "
              "(benchmarks/pipeline_throughput.py)."),
    Benchmark("train", _train,
              "Real train step of each full-size config on random inputs, one subprocess "
              "each (benchmarks/train_throughput.py)."),
    Benchmark("scaling", _scaling,
              "Same global batch on 1, 2, 4, 8 simulated CPU devices: on CPU this only "
              "checks that the sharded step runs (benchmarks/scaling.py)."),
    Benchmark("reference_data_path", _reference_data_path,
              "The reference's OpenCV decoding every epoch vs packed records through grain, "
              "same clips (benchmarks/reference_opencv.py)."),
    Benchmark("reference_train_step", _reference_train_step,
              "The reference's frozen-ResNet-18 + autoencoder + LSTM in PyTorch vs "
              "configs/resnet_ae_lstm.py, same batch (benchmarks/reference_pytorch.py)."),
    Benchmark("export", _export,
              "Bundled FER2013 model and ae_lstm as jitted JAX, StableHLO, ONNX float32 and "
              "int8: file size, CPU latency at batch 1 and 32, accuracy (benchmarks/export.py)."),
    Benchmark("video", _video,
              "Face detectors (hit rate, false positives, ms/frame) and emo_jax.video.analyze "
              "end to end (fps, latency p50/p95, memory over a long video) "
              "(benchmarks/video.py)."),
)

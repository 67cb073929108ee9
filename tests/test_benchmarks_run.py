"""Tests for the benchmark runner, its report and summary, the MFU arithmetic and one real
tiny benchmark path (no speed is asserted: these run on shared machines)."""
import json
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks import face_cost
from benchmarks import flops
from benchmarks import machine
from benchmarks import reference_pytorch
from benchmarks import reference_pytorch_models
from benchmarks import results_report
from benchmarks import scaling
from benchmarks import run as run_lib
from benchmarks import suite
from benchmarks import summary
from benchmarks import train_throughput


def _fake_suite():
  def broken(quick, workspace):
    raise ValueError("no clips here")

  return [
      suite.Benchmark("fake", lambda quick, workspace: [
          {"name": "fake/a", "clips_per_second": 1.5, "quick": quick},
          {"name": "fake/b", "ratio": 2}], "A fake benchmark."),
      suite.Benchmark("broken", broken),
  ]


def test_run_benchmarks_sections_errors_and_machine(tmp_path):
  results = run_lib.run_benchmarks(_fake_suite(), quick=True,
                                   workspace=suite.Workspace(tmp_path))
  assert [s["name"] for s in results["sections"]] == ["fake", "broken"]
  assert results["sections"][0]["rows"][0] == {"name": "fake/a", "clips_per_second": 1.5,
                                               "quick": True}
  assert results["sections"][1]["rows"] == [{"name": "broken",
                                             "error": "ValueError: no clips here"}]
  assert run_lib.has_errors(results)
  assert results["summary"] == []
  assert len(results["sections"][0]["load_average_before"]) == 3
  assert results["machine"]["jax"]["backend"] == jax.default_backend()


def test_main_writes_json_and_markdown(tmp_path, monkeypatch, capsys):
  monkeypatch.setattr(suite, "SUITE", tuple(_fake_suite()[:1]))
  out, markdown = tmp_path / "results" / "latest.json", tmp_path / "RESULTS.md"
  assert run_lib.main(["--quick", "--out", str(out), "--markdown", str(markdown)]) == 0
  results = json.loads(out.read_text())
  assert results["command"] == f"python -m benchmarks.run --quick --out {out} --markdown {markdown}"
  assert results["sections"][0]["rows"][1] == {"name": "fake/b", "ratio": 2}
  text = markdown.read_text()
  assert results["command"] in text
  assert "| name | clips_per_second | quick | ratio |" in text
  assert "| fake/b |  |  | 2 |" in text
  assert machine.cpu_model() in text
  assert "| fake/a | 1.5 | True |  |" in capsys.readouterr().out


def test_main_rejects_unknown_benchmark():
  with pytest.raises(SystemExit):
    run_lib.main(["--only", "decoding"])


def test_markdown_table():
  rows = [{"name": "x", "a": 1.25}, {"name": "y|z", "b": [1, 2], "a": None}]
  assert results_report.markdown_table(rows) == (
      "| name | a | b |\n| --- | --- | --- |\n| x | 1.25 |  |\n| y\\|z |  | 1, 2 |")


def test_machine_description(tmp_path):
  cpuinfo = tmp_path / "cpuinfo"
  cpuinfo.write_text("processor\t: 0\nmodel name\t: Test CPU @ 2.0GHz\nflags\t: avx\n")
  assert machine.cpu_model(str(cpuinfo)) == "Test CPU @ 2.0GHz"
  description = machine.describe()
  assert description["usable_cores"] >= 1
  assert len(description["load_average_1_5_15min"]) == 3
  assert description["libraries"]["jax"] == jax.__version__
  assert description["jax"]["device_count"] == jax.device_count()
  assert set(description["libraries"]) >= {"flax", "optax", "grain", "tfds", "numpy", "torch",
                                           "decord", "av", "cv2"}


def test_mfu_arithmetic():
  assert flops.utilisation(2e9, 0.5, 8e9) == 0.5  # 4 GFLOP/s of 8.
  with pytest.raises(ValueError):
    flops.utilisation(1e9, 0.0, 1e9)
  compiled = jax.jit(jnp.matmul).lower(jnp.zeros((4, 8)), jnp.zeros((8, 16))).compile()
  assert flops.compiled_flops(compiled) == 2 * 4 * 8 * 16

  class OldStyle:  # Older JAX: one dict per computation.
    def cost_analysis(self):
      return [{"flops": 12.0}]

  assert flops.compiled_flops(OldStyle()) == 12.0


def test_summary_targets():
  rows = [
      {"name": "input_pipeline/read+augment/workers=0", "input": "16x112x112x1",
       "clips_per_second": 40.0},
      {"name": "input_pipeline/read+augment/workers=2", "input": "16x112x112x1",
       "clips_per_second": 50.0},
      {"name": "train/ae_lstm", "input": "16x112x112x1", "clips_per_second": 2.0,
       "batch_size": 4},
      {"name": "train/resnet_ae_lstm", "input": "16x112x112x1", "clips_per_second": 20.0,
       "batch_size": 4},
      {"name": "data_path/reference_opencv", "clips_per_second": 1.0, "method": "m",
       "num_clips": 6},
      {"name": "data_path/packed_grain", "clips_per_second": 30.0, "num_clips": 6},
      {"name": "data_path/ratio", "ratio": 30.0},
      {"name": "train_step/resnet18_frozen", "batch_size": 4, "ratio": 2.0,
       "ours_step_ms": 1000.0, "reference_step_ms": 2000.0, "reference_clips_per_second": 2.0,
       "reference_channels_last_step_ms": 1500.0, "ratio_vs_channels_last": 1.5,
       "ours_pipelined_clips_per_second": 3.0, "reference_encode_ms": 1900.0,
       "reference_head_step_ms": 100.0},
  ]
  targets = {row["name"]: row for row in summary.targets(rows)}
  clips = targets["input pipeline / fastest model (16x112x112x1)"]
  assert (clips["measured"], clips["met"]) == (2.5, "NO")  # 50 / 20.
  assert targets["data path: packed grain / reference OpenCV every epoch"]["met"] == "yes"
  # Reference epoch: 1 / (1/1 + 1/2) = 2/3 clips/s; ours 3 clips/s measured.
  assert targets["epoch (data + train), frozen ResNet-18: ours / reference"]["measured"] == 4.5
  assert "input pipeline / fastest model (1x48x48x1)" not in targets


def test_train_throughput_measures_the_real_sharded_step():
  row = train_throughput.measure("fer2013_cnn", "runlocal", batch_size=8, num_steps=2,
                                 num_devices=8)
  assert row["name"] == "train/fer2013_cnn:runlocal"
  assert (row["input"], row["batch_size"], row["num_devices"]) == ("4x32x32x1", 8, 8)
  assert row["repetitions"] == 2
  assert row["clips_per_second"] > 0 and row["gflops_per_step"] > 0
  assert 0 < row["mfu"] == pytest.approx(
      row["achieved_gflops"] / row["ceiling_gflops"], rel=0.05, abs=1e-3)
  assert row["peak_rss_mb"] >= row["rss_after_import_mb"] > 0


def test_scaling_skips_meshes_larger_than_the_devices(monkeypatch):
  monkeypatch.setattr(scaling, "DEVICE_COUNTS", (16,))
  assert scaling.measure_all("fer2013_cnn:runlocal", batch_size=16, num_steps=1) == [
      {"name": "scaling/fer2013_cnn:runlocal/devices=16", "skipped": "only 8 cpu devices"}]
  assert train_throughput.without_simulated_devices(
      "--a=1 --xla_force_host_platform_device_count=8 --b") == "--a=1 --b"


def test_reference_pytorch_skips_without_torch(monkeypatch):
  monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError.
  rows = reference_pytorch.run(quick=False)
  assert [row["name"] for row in rows] == ["train_step/resnet18_frozen",
                                           "epoch/resnet18_frozen_cached",
                                           "train_step/resnet18_trainable",
                                           "train_step/conv_encoder_trainable"]
  assert all("pip install -e .[bench]" in row["skipped"] for row in rows)


def test_cached_features_epoch_rows_and_summary():
  reference = {"name": "train_step/resnet18_frozen", "batch_size": 2,
               "reference_encode_ms": 900.0, "reference_head_step_ms": 100.0}
  row = reference_pytorch.cached_features_epoch(
      reference, num_steps=1, num_cached_steps=2, config_arg="runlocal,cached",
      shape=(3, 32, 32, 1))
  assert (row["name"], row["batch_size"], row["input"]) == (
      "epoch/resnet18_frozen_cached", 2, "3x32x32x1")
  assert row["reference_epoch_ms_per_clip"] == 500.0  # (900 + 100) / 2.
  build, step = row["ours_cache_build_ms_per_clip"], row["ours_cached_step_ms_per_clip"]
  assert build > 0 and step > 0
  assert row["ours_first_epoch_ms_per_clip"] == pytest.approx(build + step, abs=0.02)
  assert row["ratio"] == pytest.approx(500 / step, rel=0.01)
  assert row["ratio_first_epoch"] == pytest.approx(500 / (build + step), rel=0.01)
  assert row["ratio_first_epoch"] <= row["ratio_amortised"] <= row["ratio"]
  target = {r["name"]: r for r in summary.targets([reference, row])}[
      "epoch, frozen ResNet-18 on cached features: ours / reference"]
  assert (target["measured"], target["target"]) == (row["ratio"], ">= 10x")
  assert target["met"] == ("yes" if row["ratio"] >= 10 else "NO")
  assert f"{row['ratio_first_epoch']}x" in target["detail"]
  assert f"30 epochs with the cache built once: {row['ratio_amortised']}x" in target["detail"]
  skipped = reference_pytorch.cached_features_epoch({"skipped": "no torch"}, 1, 1)
  assert summary.targets([skipped])[0]["met"] == "n/a"


def test_reference_model_keeps_a_frozen_encoder_fixed():
  torch = pytest.importorskip("torch")
  trainer = reference_pytorch_models.ReferenceTrainer(torch, frozen=True)
  frames = np.random.default_rng(0).integers(0, 256, (2, 3, 32, 32, 1), dtype=np.uint8)
  encoder_before = [p.detach().clone() for p in trainer.encoder.parameters()]
  head_before = [p.detach().clone() for p in trainer.head.parameters()]
  features = trainer.encode(frames)
  assert features.shape == (2, 3, 512) and not features.requires_grad
  assert np.isfinite(trainer.train_step(frames, np.array([0, 5])))
  assert all(torch.equal(a, b) for a, b in zip(encoder_before, trainer.encoder.parameters()))
  assert not all(torch.equal(a, b) for a, b in zip(head_before, trainer.head.parameters()))


@pytest.mark.parametrize("channels_last", [False, True])
def test_pytorch_conv_lstm_trains(channels_last):
  torch = pytest.importorskip("torch")
  trainer = reference_pytorch_models.ConvLstmTrainer(torch, channels_last)
  frames = np.random.default_rng(0).integers(0, 256, (2, 3, 32, 32, 1), dtype=np.uint8)
  before = [p.detach().clone() for p in trainer.encoder.parameters()]
  assert np.isfinite(trainer.train_step(frames, np.array([1, 2])))
  assert not any(torch.equal(a, b) for a, b in zip(before, trainer.encoder.parameters()))


def test_train_throughput_takes_the_compute_dtype():
  row = train_throughput.measure("fer2013_cnn", "runlocal", batch_size=8, num_steps=1,
                                 dtype="bfloat16")
  assert row["dtype"] == "bfloat16" and row["mfu"] > 0
  # On CPU "auto" is float32 (bfloat16 on GPU/TPU), for the model and the ceiling alike.
  assert train_throughput.measure("fer2013_cnn", "runlocal", batch_size=8, num_steps=1,
                                  with_ceiling=False)["dtype"] == "float32"


def test_train_loop_benchmark_times_both_loops(tiny_data_dir, capsys):
  from benchmarks import train_loop  # pylint: disable=g-import-not-at-top
  assert train_loop.main(["--data_dir", str(tiny_data_dir), "--num_steps", "3",
                          "--log_every_steps", "2"]) == 0
  rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
  assert [r["mode"] for r in rows] == ["host_sync", "prefetch"]
  assert all(r["steps_per_second"] > 0 and r["num_devices"] == 8 for r in rows)


def test_face_cost_times_each_named_bundle(capsys):
  times = face_cost.time_bundled("fer2013", calls=3)
  assert len(times) == 3 and all(t > 0 for t in times)
  assert face_cost.main(["fer2013"]) == 0
  assert capsys.readouterr().out.startswith("fer2013: ")

"""Two processes with 4 simulated CPU devices each, joined over localhost, train as one with 8."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np

from configs import ae_lstm
from emo_jax import trainer
from tests import helpers


def free_port() -> int:
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


def launch_hosts(args, workdir, num_processes=2, devices_per_process=4):
  env = dict(os.environ, JAX_PLATFORMS="cpu", JAX_CPU_COLLECTIVES_IMPLEMENTATION="gloo",
             XLA_FLAGS=f"--xla_force_host_platform_device_count={devices_per_process}")
  coordinator = f"localhost:{free_port()}"
  return [subprocess.Popen(
      [sys.executable, "-m", "emo_jax.train", *args, f"--workdir={workdir}",
       f"--coordinator_address={coordinator}", f"--num_processes={num_processes}",
       f"--process_id={i}"], cwd=helpers.REPO_ROOT, env=env,
      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
      for i in range(num_processes)]


def finish(processes, timeout=600):
  outputs = []
  for process in processes:
    try:
      output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
      for p in processes:
        p.kill()
      raise
    outputs.append(output)
  for process, output in zip(processes, outputs):
    assert process.returncode == 0, output[-3000:]
  return outputs


def final_metrics(output: str) -> dict:
  return json.loads(output[output.rindex("\n{") + 1:])


def train_losses(workdir):
  return [r["loss"] for r in map(json.loads, open(os.path.join(workdir, "metrics.jsonl")))
          if r["split"] == "train"]


def test_two_hosts_give_the_losses_of_one_host_with_eight_devices(tiny_data_dir, tmp_path):
  overrides = {"train.num_steps": 3, "data.batch_size": 8, "data.eval_batch_size": 8}
  hosts = launch_hosts(["--config=configs/ae_lstm.py:runlocal",
                        f"--config.data.data_dir={tiny_data_dir}",
                        *(f"--config.{k}={v}" for k, v in overrides.items())],
                       tmp_path / "two_hosts")
  outputs = finish(hosts)
  config = ae_lstm.get_config("runlocal")  # This process: one host, 8 devices (conftest).
  config.data.data_dir = str(tiny_data_dir)
  for key, value in overrides.items():
    helpers.set_nested(config, key, value)
  one_host = trainer.train_and_evaluate(config, str(tmp_path / "one_host"))
  two_hosts = [final_metrics(output) for output in outputs]
  assert [m["steps"] for m in two_hosts] == [3, 3]
  one, two = train_losses(tmp_path / "one_host"), train_losses(tmp_path / "two_hosts")
  assert len(one) == 3
  np.testing.assert_allclose(two, one, rtol=1e-4)
  assert two_hosts[0]["test_accuracy"] == two_hosts[1]["test_accuracy"]
  np.testing.assert_allclose(two_hosts[0]["test_accuracy"], one_host["test_accuracy"])


def test_sigterm_on_one_host_stops_every_host_at_the_same_step(tiny_data_dir, tmp_path):
  hosts = launch_hosts(["--config=configs/ae_lstm.py:runlocal",
                        f"--config.data.data_dir={tiny_data_dir}",
                        "--config.train.num_steps=100000",
                        "--config.train.checkpoint_every_epochs=1000"], tmp_path)
  deadline = time.time() + 400
  while time.time() < deadline and not (tmp_path / "metrics.jsonl").exists():
    assert all(p.poll() is None for p in hosts)
    time.sleep(0.2)
  hosts[1].send_signal(signal.SIGTERM)  # Only the second host is preempted.
  outputs = finish(hosts, timeout=300)
  finals = [final_metrics(output) for output in outputs]
  assert all(f["interrupted"] for f in finals)
  assert finals[0]["steps"] == finals[1]["steps"] >= 1
  saved = [int(p.name) for p in (tmp_path / "checkpoints" / "latest").iterdir() if p.name.isdigit()]
  assert max(saved) == finals[0]["steps"]
  assert re.search(r"SIGTERM received", outputs[1]) and not re.search(r"SIGTERM received", outputs[0])

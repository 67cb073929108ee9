"""Packs a trained run into a bundle the package can ship: `python -m emo_jax.bundle`.

  python -m emo_jax.bundle --workdir workdirs/fer2013_bundled --name fer2013 \
      --card_notes docs/model_cards/fer2013.md

writes `emo_jax/bundled/fer2013/`: `variables.msgpack` (the params and batch_stats of the
chosen checkpoint, msgpack: no pickle, no code), `manifest.json` (the run's config, class
names, input shape, step, the SHA-256 of the variables, the run's final metrics and the
git commit) and `MODEL_CARD.md` (the notes file, then the figures from the manifest).
`emo_jax.checkpoints.load_bundled(name)` reads it back and checks the SHA-256.

  python -m emo_jax.bundle --members fer2013_deep fer2013_vgg --name fer2013_ensemble \
      --card_notes docs/model_cards/fer2013_ensemble.md

writes an ensemble bundle: no weights, a manifest naming bundled members (with their
SHA-256, checked on load) whose class probabilities `load_bundled` averages.
"""
import argparse
import json
import os
import subprocess
import sys

from flax import serialization
import jax
import numpy as np

from emo_jax import checkpoints


def git_commit(cwd: str = ".") -> str:
  try:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=cwd, capture_output=True,
                          text=True, check=True).stdout.strip()
  except (OSError, subprocess.CalledProcessError):
    return "unknown"


def write_bundle(run: checkpoints.LoadedRun, out_dir: str, card_notes: str = "",
                 extra: dict | None = None, weights_dtype: str = "float32") -> str:
  """Writes `run` as a bundle folder `out_dir`; returns the variables' SHA-256.

  `weights_dtype="float16"` stores the float variables at half the size (loading casts
  them back to float32; measure the bundle as it ships). Files are written beside their
  final names and renamed into place, the manifest last, so a bundle interrupted
  half-way is never mistaken for a complete one.
  """
  if weights_dtype not in checkpoints.BUNDLE_WEIGHT_DTYPES:
    raise ValueError(f"weights_dtype must be one of {checkpoints.BUNDLE_WEIGHT_DTYPES}, "
                     f"got {weights_dtype!r}")
  os.makedirs(out_dir, exist_ok=True)
  def stored(x):
    x = np.asarray(jax.device_get(x))
    return x.astype(weights_dtype) if np.issubdtype(x.dtype, np.floating) else x
  variables = jax.tree.map(stored, dict(run.variables))
  payload = serialization.msgpack_serialize(variables)
  variables_path = os.path.join(out_dir, checkpoints.BUNDLE_VARIABLES)
  with open(variables_path + ".tmp", "wb") as f:
    f.write(payload)
  os.replace(variables_path + ".tmp", variables_path)
  final_metrics = {}
  final_path = os.path.join(run.workdir, "final_metrics.json")
  if os.path.isfile(final_path):
    with open(final_path) as f:
      final_metrics = json.load(f)
  manifest = {
      "name": os.path.basename(os.path.normpath(out_dir)),
      "sha256": checkpoints.sha256_of(variables_path),
      "class_names": list(run.class_names),
      "frames_shape": list(run.frames_shape),
      "step": int(run.step),
      "config": json.loads(run.config.to_json_best_effort()),
      "final_metrics": final_metrics,
      "git_commit": git_commit(os.path.dirname(os.path.abspath(__file__))),
      "num_parameters": int(sum(np.size(x) for x in jax.tree.leaves(variables.get("params", {})))),
      "weights_dtype": weights_dtype,
      **(extra or {}),
  }
  card = [card_notes.rstrip(), "", "## From the manifest", "",
          f"- classes: {', '.join(run.class_names)}",
          f"- input: {' x '.join(map(str, run.frames_shape))} ([T, S, S, C], uint8 or [0, 1])",
          f"- parameters: {manifest['num_parameters']:,}; weights file "
          f"{len(payload) / 2**20:.2f} MiB ({weights_dtype}), SHA-256 {manifest['sha256']}",
          f"- training step {run.step}; written at commit {manifest['git_commit']}"]
  for key in ("val_accuracy", "test_accuracy", "test_balanced_accuracy", "test_macro_f1"):
    if key in final_metrics:
      card.append(f"- {key}: {final_metrics[key]:.4f}")
  _write_card_and_manifest(out_dir, card, manifest)
  return manifest["sha256"]


def _write_card_and_manifest(out_dir: str, card: list[str], manifest: dict) -> None:
  """MODEL_CARD.md, then the manifest, renamed into place last (it marks a complete bundle)."""
  with open(os.path.join(out_dir, checkpoints.BUNDLE_MODEL_CARD), "w") as f:
    f.write("\n".join(card).lstrip() + "\n")
  manifest_path = os.path.join(out_dir, checkpoints.BUNDLE_MANIFEST)
  with open(manifest_path + ".tmp", "w") as f:
    json.dump(manifest, f, indent=1, default=float)
  os.replace(manifest_path + ".tmp", manifest_path)


def write_ensemble_bundle(members: list[str], out_dir: str, card_notes: str = "") -> dict:
  """Writes an ensemble bundle of the bundled `members` (beside `out_dir`); returns its manifest."""
  root = os.path.dirname(os.path.normpath(out_dir))
  runs = [checkpoints.load_bundled(m, directory=os.path.join(root, m)) for m in members]
  run = checkpoints.ensemble(runs)
  with_sha = {}
  for member in members:
    with open(os.path.join(root, member, checkpoints.BUNDLE_MANIFEST)) as f:
      with_sha[member] = json.load(f)["sha256"]
  num_parameters = int(sum(np.size(x) for x in jax.tree.leaves(run.variables.get("params", {}))))
  manifest = {
      "name": os.path.basename(os.path.normpath(out_dir)),
      "members": with_sha,
      "class_names": list(run.class_names),
      "frames_shape": list(run.frames_shape),
      "git_commit": git_commit(os.path.dirname(os.path.abspath(__file__))),
      "num_parameters": num_parameters,
  }
  os.makedirs(out_dir, exist_ok=True)
  card = [card_notes.rstrip(), "", "## From the manifest", "",
          f"- members (class probabilities averaged with equal weights): {', '.join(members)}",
          f"- classes: {', '.join(run.class_names)}",
          f"- input: {' x '.join(map(str, run.frames_shape))} ([T, S, S, C], uint8 or [0, 1])",
          f"- parameters: {num_parameters:,} in all; no weights of its own (the members' are "
          "checked by SHA-256)",
          f"- written at commit {manifest['git_commit']}"]
  _write_card_and_manifest(out_dir, card, manifest)
  return manifest


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(prog="python -m emo_jax.bundle",
                                   description=__doc__.splitlines()[0])
  source = parser.add_mutually_exclusive_group(required=True)
  source.add_argument("--workdir", help="training workdir to pack")
  source.add_argument("--members", nargs="+",
                      help="bundled models to average as an ensemble (bundles in the same folder)")
  parser.add_argument("--name", required=True, help="bundle name, e.g. fer2013")
  parser.add_argument("--checkpoint", default="best", help="best, latest or a step number")
  parser.add_argument("--weights_dtype", default="float32", choices=checkpoints.BUNDLE_WEIGHT_DTYPES,
                      help="float16 halves the weights file (loaded as float32)")
  parser.add_argument("--out", default=None,
                      help="folder to write (default: emo_jax/bundled/NAME in the package)")
  parser.add_argument("--card_notes", default=None,
                      help="Markdown file that opens the model card (data, licence, results)")
  args = parser.parse_args(argv)
  if args.members and args.weights_dtype != "float32":
    parser.error("--weights_dtype is for --workdir: an ensemble bundle holds no weights")
  notes = ""
  if args.card_notes:
    with open(args.card_notes) as f:
      notes = f.read()
  out = args.out or os.path.join(checkpoints.bundled_dir(), args.name)
  try:
    if args.members:
      manifest = write_ensemble_bundle(args.members, out, notes)
      print(f"wrote {out} (ensemble of {', '.join(manifest['members'])})")
      return 0
    run = checkpoints.load(args.workdir, args.checkpoint)
  except (FileNotFoundError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  digest = write_bundle(run, out, notes, weights_dtype=args.weights_dtype)
  print(f"wrote {out} (step {run.step}, sha256 {digest})")
  return 0


if __name__ == "__main__":
  sys.exit(main())

"""`python -m emo_jax.demo [--workdir DIR] [--host 127.0.0.1] [--port 7860]`: the web demo.

    pip install -e ".[demo]"
    python -m emo_jax.demo                                 # the bundled FER2013 model
    python -m emo_jax.demo --workdir workdirs/fer2013_cnn  # a trained run
Then open http://127.0.0.1:7860/ . Nothing a visitor uploads is kept.
"""
import argparse
import os
import shutil
import sys
import tempfile

INSTALL_HINT = ('the web demo needs its extra packages (FastAPI, uvicorn): '
                'pip install -e ".[demo]"  (or: pip install fastapi "uvicorn[standard]")')


def parse_args(argv=None) -> argparse.Namespace:
  from emo_jax.demo import limits  # pylint: disable=g-import-not-at-top
  defaults = limits.Limits()
  parser = argparse.ArgumentParser(prog="python -m emo_jax.demo",
                                   description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", help="training workdir of the model (default: the bundled "
                      "FER2013 model)")
  parser.add_argument("--bundled", default=None,
                      help="a bundled model's name when no --workdir (default: fer2013, the "
                      "fastest; fer2013_vgg is more accurate and about 4x the cost per face)")
  parser.add_argument("--checkpoint", default="best", help="best, latest or a step number")
  parser.add_argument("--host", default="127.0.0.1", help="address to listen on; only this "
                      "machine can connect unless you give another (0.0.0.0: every interface)")
  parser.add_argument("--port", type=int, default=7860)
  parser.add_argument("--smoothing_s", type=float, default=0.5,
                      help="time constant of the per-face EMA in seconds (0: off)")
  parser.add_argument("--max_upload_mb", type=float, default=defaults.max_upload_mb)
  parser.add_argument("--max_video_s", type=float, default=defaults.max_video_s,
                      help="longest video accepted, in seconds")
  parser.add_argument("--max_pixels", type=int, default=defaults.max_pixels,
                      help="largest frame accepted, width x height (4K is 8.3 million)")
  parser.add_argument("--max_running", type=int, default=defaults.max_running,
                      help="analyses at once")
  parser.add_argument("--max_waiting", type=int, default=defaults.max_waiting,
                      help="analyses queued; more get 503 busy")
  parser.add_argument("--time_limit_s", type=float, default=defaults.analysis_time_limit_s,
                      help="an analysis stops after this long (its results so far are shown)")
  parser.add_argument("--max_live_sessions", type=int, default=defaults.max_live_sessions,
                      help="webcam sessions at once")
  parser.add_argument("--upload_dir", help="an empty folder for uploads while they are "
                      "analysed (default: a private temporary folder, removed at exit)")
  return parser.parse_args(argv)


def main(argv=None) -> int:
  try:
    import fastapi  # pylint: disable=g-import-not-at-top,unused-import
    import uvicorn  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    print(f"error: {INSTALL_HINT} ({e})", file=sys.stderr)
    return 2
  args = parse_args(argv)
  from emo_jax import checkpoints  # pylint: disable=g-import-not-at-top
  from emo_jax.demo import limits  # pylint: disable=g-import-not-at-top
  from emo_jax.demo import server  # pylint: disable=g-import-not-at-top
  try:
    run = (checkpoints.load(args.workdir, args.checkpoint) if args.workdir
           else checkpoints.load_bundled(args.bundled or checkpoints.REALTIME_BUNDLED))
  except (FileNotFoundError, ValueError) as e:  # BundleError is a ValueError
    print(f"error: cannot load the model: {e}", file=sys.stderr)
    return 2
  server_limits = limits.Limits(
      max_upload_mb=args.max_upload_mb, max_video_s=args.max_video_s,
      max_pixels=args.max_pixels, max_running=args.max_running, max_waiting=args.max_waiting,
      analysis_time_limit_s=args.time_limit_s, max_live_sessions=args.max_live_sessions)
  upload_root = args.upload_dir or tempfile.mkdtemp(prefix="emo_jax_demo_")
  os.makedirs(upload_root, mode=0o700, exist_ok=True)
  app = server.create_app(run, upload_root, server_limits, args.smoothing_s)
  print(f"emo_jax demo: model {run.workdir} (step {run.step}); http://{args.host}:{args.port}/",
        flush=True)
  try:
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
  finally:
    if not args.upload_dir:
      shutil.rmtree(upload_root, ignore_errors=True)
  return 0

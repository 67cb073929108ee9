"""Emotion of faces in video: `for result in emo_jax.video.analyze(source, model=run): ...`.

Stages, one module each: source (frames) -> detect -> track -> classify -> smooth, joined
by `analyze`; report (table, CSV, summary, plot) and render (annotated video) are sinks.
"""
from emo_jax.video.pipeline import analyze
from emo_jax.video.pipeline import Analyzer
from emo_jax.video.pipeline import FaceResult
from emo_jax.video.pipeline import FrameResult
from emo_jax.video.cli import analyze_to_dir
from emo_jax.video.report import analyze_to_table
from emo_jax.video.report import to_table
from emo_jax.video.report import write_csv
from emo_jax.video.source import open_source
from emo_jax.video.source import SourceError

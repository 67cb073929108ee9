"""A built feature cache read as records: `FeatureSource(directory)[i]`, memory-mapped."""
import json
import os

import numpy as np

from emo_jax.feature_cache import layout


class FeatureSource:
  """Records of a feature cache, memory-mapped: `len()` and `[i]` like a TFDS data source.

  Record i: `frame_features` [T, D], `label`, `vote_distribution` (when cached), and
  with views `frame_feature_views` [V, T, D]. Arrays
  open lazily in each process, so grain workers can pickle the source.
  """

  def __init__(self, directory: str, views_dir: str | None = None):
    for path in filter(None, (directory, views_dir)):
      if not layout.is_built(path):
        raise FileNotFoundError(f"{path} is not a complete feature cache (no {layout.META}); build it "
                                "with emo_jax.feature_cache.build.build_feature_cache")
    self.directory = directory
    self.views_dir = views_dir
    with open(os.path.join(directory, layout.META)) as f:
      self.meta = json.load(f)
    self._arrays = None

  def _open(self) -> dict[str, np.ndarray]:
    if self._arrays is None:
      def load(name, directory=self.directory, mmap_mode=None):
        path = os.path.join(directory, f"{name}.npy")
        return np.load(path, mmap_mode=mmap_mode) if os.path.exists(path) else None
      arrays = {"features": load("features", mmap_mode="r"), "label": load("label"),
                "vote_distribution": load("vote_distribution")}
      if self.views_dir:
        arrays["views"] = load("views", self.views_dir, mmap_mode="r")
      self._arrays = arrays
    return self._arrays

  def __len__(self) -> int:
    return int(self.meta["num_records"])

  def __getitem__(self, index: int) -> dict[str, np.ndarray]:
    arrays = self._open()
    record = {"frame_features": arrays["features"][index], "label": arrays["label"][index]}
    if arrays["vote_distribution"] is not None:
      record["vote_distribution"] = arrays["vote_distribution"][index]
    if "views" in arrays:
      record["frame_feature_views"] = arrays["views"][:, index]
    return record

  def __getstate__(self):
    return dict(self.__dict__, _arrays=None)

"""Checks a CREMA-D clone's media files (LFS stubs, missing, truncated, altered) before decoding.

Expected sizes and sha256 come from, in order of preference:
  1. a manifest CSV with columns `path,size,sha256` (paths relative to the clone, e.g.
     `VideoFlash/1001_DFA_ANG_XX.flv`), passed as `manifest=`;
  2. the clone's own Git LFS pointers: the blobs committed at HEAD are pointer texts
     (`oid sha256:<hex>`, `size <n>`), read in one `git cat-file --batch` call;
  3. neither: only Git LFS stubs and empty files can be found; the report says so.

Usage: `python -m emo_jax.data.verify /path/to/CREMA-D [--manifest media_manifest.csv]`.
"""
from collections.abc import Iterable, Sequence
import argparse
import collections
import csv
import dataclasses
import hashlib
import os
import subprocess
import sys

from emo_jax.data import cremad

MEDIA_EXTENSIONS = {"VideoFlash": ".flv", "AudioWAV": ".wav", "AudioMP3": ".mp3"}
# Problem kinds, in the order reports list them.
PROBLEM_KINDS = ("lfs_stub", "missing", "empty", "truncated", "size_mismatch", "altered")
_KIND_TITLES = {
    "lfs_stub": "Git LFS pointer stubs instead of media",
    "missing": "missing",
    "empty": "zero-byte",
    "truncated": "truncated (smaller than expected)",
    "size_mismatch": "wrong size (larger than expected)",
    "altered": "altered (sha256 differs)",
}
_REDOWNLOAD = f"or re-download with `{cremad.CLONE_COMMAND}`"
_FIXES = {
    "lfs_stub": ("inside the clone run `git lfs install && git lfs pull` (a GitHub zip "
                 "download or a clone made without git-lfs holds only these stubs)"),
    "missing": ("inside the clone run `git checkout -- <file>...` then `git lfs pull`, "
                + _REDOWNLOAD),
    "empty": ("delete them, then inside the clone run `git checkout -- <file>...` and "
              "`git lfs pull`, " + _REDOWNLOAD),
}
_FIXES["truncated"] = _FIXES["size_mismatch"] = _FIXES["altered"] = _FIXES["empty"]
_LFS_POINTER_MAX_BYTES = 1024  # Pointer files are ~130 bytes; git-lfs caps them at 1 KiB.
_HASH_CHUNK_BYTES = 1 << 20
_MAX_LISTED = 20


class CloneVerificationError(RuntimeError):
  """A CREMA-D clone has stub, missing, truncated or altered media files."""


@dataclasses.dataclass(frozen=True)
class Expected:
  """What a media file should be: its size in bytes and (when known) its sha256 hex."""
  size: int
  sha256: str | None = None


@dataclasses.dataclass(frozen=True)
class FileProblem:
  """One bad file: `path` relative to the clone, `kind` in PROBLEM_KINDS, a detail."""
  path: str
  kind: str
  detail: str

  @property
  def fix(self) -> str:
    return _FIXES[self.kind]


@dataclasses.dataclass
class VerifyReport:
  """The outcome of `verify_clone`.

  Attributes:
    root: the clone checked.
    source: where expected sizes/hashes came from ("manifest <path>", "git LFS pointers
      at HEAD" or "none").
    num_checked: files looked at.
    hashes_checked: whether sha256 was compared (False: sizes only).
    problems: one FileProblem per bad file, sorted by kind then path.
    notes: what could not be checked and why.
  """
  root: str
  source: str
  num_checked: int
  hashes_checked: bool
  problems: list[FileProblem]
  notes: list[str] = dataclasses.field(default_factory=list)

  @property
  def ok(self) -> bool:
    return not self.problems

  @property
  def counts(self) -> dict[str, int]:
    """Problem kind -> number of files (kinds without problems are omitted)."""
    return dict(collections.Counter(p.kind for p in self.problems))

  def format(self, max_listed: int = _MAX_LISTED) -> str:
    """A text summary listing up to `max_listed` bad files, grouped by kind with fixes."""
    if self.source == "none":
      against, checks = "", "Git LFS stub and empty-file checks only"
    else:
      against = f" against {self.source}"
      checks = "sizes and sha256" if self.hashes_checked else "sizes only"
    lines = [f"CREMA-D clone check of {self.root}: {self.num_checked} files{against} "
             f"({checks})."]
    lines += [f"Note: {note}" for note in self.notes]
    if self.ok:
      lines.append("OK: no problems found.")
      return "\n".join(lines)
    counts = self.counts
    lines.append(f"{len(self.problems)} problem(s): " + ", ".join(
        f"{counts[kind]} {kind}" for kind in PROBLEM_KINDS if kind in counts) + ".")
    listed = 0
    for kind in PROBLEM_KINDS:
      if kind not in counts or listed >= max_listed:
        continue
      lines.append(f"{_KIND_TITLES[kind]} ({counts[kind]}); fix: {_FIXES[kind]}")
      for problem in self.problems:
        if problem.kind == kind and listed < max_listed:
          lines.append(f"  {problem.path}: {problem.detail}")
          listed += 1
    if listed < len(self.problems):
      lines.append(f"  ... and {len(self.problems) - listed} more.")
    return "\n".join(lines)

  def raise_if_problems(self) -> None:
    """Raises CloneVerificationError with `format()` as its message unless `ok`."""
    if not self.ok:
      raise CloneVerificationError(self.format())


def read_manifest(path: str | os.PathLike) -> dict[str, Expected]:
  """Reads a `path,size,sha256` CSV into relative path -> Expected."""
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"manifest {path} not found; pass the path of a CSV with "
                            "columns path,size,sha256")
  with open(path, newline="", encoding="utf-8") as f:
    reader = csv.DictReader(f)
    missing = {"path", "size", "sha256"} - set(reader.fieldnames or ())
    if missing:
      raise ValueError(f"manifest {path} lacks column(s) {', '.join(sorted(missing))}; "
                       "expected a header path,size,sha256")
    try:
      return {row["path"].replace("\\", "/"): Expected(int(row["size"]),
                                                      row["sha256"].strip().lower() or None)
              for row in reader}
    except ValueError as e:
      raise ValueError(f"manifest {path} line {reader.line_num}: {e}") from e


def parse_lfs_pointer(text: bytes) -> Expected | None:
  """Parses a Git LFS pointer (`version ...\\noid sha256:<hex>\\nsize <n>`); None if not one."""
  if not text.startswith(cremad.LFS_POINTER_PREFIX.encode()):
    return None
  fields = dict(line.split(" ", 1) for line in text.decode("ascii", "replace").splitlines()
                if " " in line)
  oid, size = fields.get("oid", ""), fields.get("size", "")
  if not oid.startswith("sha256:") or not size.strip().isdigit():
    return None
  return Expected(int(size), oid[len("sha256:"):].strip().lower())


def _git(root: str, args: Sequence[str], stdin: bytes | None = None) -> bytes:
  result = subprocess.run(["git", "-C", root, *args], input=stdin, capture_output=True,
                          check=False)
  if result.returncode != 0:
    message = result.stderr.decode(errors="replace").strip().splitlines()
    raise RuntimeError(message[0] if message else f"git {args[0]} failed")
  return result.stdout


def read_lfs_pointers(root: str | os.PathLike,
                      kinds: Sequence[str] = ("VideoFlash",)) -> dict[str, Expected]:
  """Reads expected sizes/sha256 from the Git LFS pointers committed at HEAD in `root`.

  Blobs that are not LFS pointers (media committed directly) give their size only.

  Raises:
    RuntimeError: when git is unavailable or `root` is not a git clone.
  """
  root = os.fspath(root)
  try:
    listing = _git(root, ["ls-tree", "-r", "-z", "--long", "HEAD", "--", *kinds])
  except FileNotFoundError as e:
    raise RuntimeError("git is not installed") from e
  sizes, small_blobs = {}, {}
  for entry in filter(None, listing.split(b"\0")):
    info, path = entry.split(b"\t", 1)
    _, object_type, object_id, size = info.split()
    if object_type != b"blob":
      continue
    path = path.decode()
    sizes[path] = int(size)
    if int(size) <= _LFS_POINTER_MAX_BYTES:
      small_blobs[path] = object_id.decode()
  # One `git cat-file --batch` for all pointers: output is "<oid> blob <n>\n<n bytes>\n".
  output = _git(root, ["cat-file", "--batch"],
                stdin="".join(oid + "\n" for oid in small_blobs.values()).encode())
  contents, position = {}, 0
  for object_id in small_blobs.values():
    header_end = output.index(b"\n", position)
    size = int(output[position:header_end].split()[2])
    contents[object_id] = output[header_end + 1:header_end + 1 + size]
    position = header_end + 1 + size + 1
  expected = {}
  for path, size in sizes.items():
    pointer = parse_lfs_pointer(contents[small_blobs[path]]) if path in small_blobs else None
    expected[path] = pointer or Expected(size)
  return expected


def _sha256(path: str) -> str:
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    while chunk := f.read(_HASH_CHUNK_BYTES):
      digest.update(chunk)
  return digest.hexdigest()


def check_file(path: str, relative_path: str, expected: Expected | None,
               check_hash: bool) -> FileProblem | None:
  """Checks one file against `expected` (None: stub and empty checks only)."""
  if not os.path.isfile(path):
    size_text = f" ({expected.size:,} bytes expected)" if expected else ""
    return FileProblem(relative_path, "missing", "not found" + size_text)
  size = os.path.getsize(path)
  if size == 0:
    return FileProblem(relative_path, "empty", "0 bytes")
  with open(path, "rb") as f:
    head = f.read(_LFS_POINTER_MAX_BYTES)
  if size <= _LFS_POINTER_MAX_BYTES and (pointer := parse_lfs_pointer(head)):
    return FileProblem(relative_path, "lfs_stub",
                       f"{size}-byte Git LFS pointer for a {pointer.size:,}-byte file")
  if head.startswith(cremad.LFS_POINTER_PREFIX.encode()):
    return FileProblem(relative_path, "lfs_stub", f"{size}-byte Git LFS pointer text")
  if expected is None:
    return None
  if size < expected.size:
    return FileProblem(relative_path, "truncated",
                       f"{size:,} of {expected.size:,} bytes")
  if size > expected.size:
    return FileProblem(relative_path, "size_mismatch",
                       f"{size:,} bytes, expected {expected.size:,}")
  if check_hash and expected.sha256 and _sha256(path) != expected.sha256:
    return FileProblem(relative_path, "altered",
                       f"sha256 differs from the expected {expected.sha256[:12]}...")
  return None


def _present_files(root: str, kind: str) -> list[str]:
  directory = os.path.join(root, kind)
  if not os.path.isdir(directory):
    return []
  extension = MEDIA_EXTENSIONS[kind]
  return [f"{kind}/{name}" for name in sorted(os.listdir(directory))
          if name.endswith(extension)]


def verify_clone(root: str | os.PathLike,
                 manifest: str | os.PathLike | None = None,
                 kinds: Sequence[str] = ("VideoFlash",),
                 check_hashes: bool = True,
                 clips: Iterable[str | cremad.ClipName] | None = None,
                 only_present: bool = False) -> VerifyReport:
  """Checks the media files of a CREMA-D clone before anything is decoded.

  Args:
    root: the clone.
    manifest: optional `path,size,sha256` CSV; without it the clone's Git LFS pointers
      at HEAD are used when `root` is a git clone.
    kinds: media folders to check: "VideoFlash", "AudioWAV", "AudioMP3".
    check_hashes: compare sha256 (reads every byte: ~1 min for 2.4 GB of video);
      False checks sizes only.
    clips: check only these clips (names such as "1001_DFA_ANG_XX" or ClipNames).
    only_present: check only files that exist, e.g. a partial copy; by default every
      expected file is checked and absent ones are reported missing.

  Returns:
    A VerifyReport; call `raise_if_problems()` on it to stop on any problem.
  """
  root = os.fspath(root)
  if not os.path.isdir(root):
    raise FileNotFoundError(f"CREMA-D clone {root} does not exist; get it with "
                            f"`{cremad.CLONE_COMMAND}`")
  kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
  unknown = [kind for kind in kinds if kind not in MEDIA_EXTENSIONS]
  if unknown:
    raise ValueError(f"unknown media kind(s) {unknown}; choose from "
                     f"{', '.join(MEDIA_EXTENSIONS)}")
  notes = []
  if manifest is not None:
    expected, source = read_manifest(manifest), f"manifest {os.fspath(manifest)}"
  else:
    try:
      expected, source = read_lfs_pointers(root, kinds), "git LFS pointers at HEAD"
    except RuntimeError as e:
      expected, source = {}, "none"
      notes.append(f"no manifest given and no Git LFS pointers readable in {root} ({e}): "
                   "only LFS stubs and empty files can be found; pass manifest= for sizes "
                   "and sha256")
    if source != "none" and not expected:
      source = "none"
      notes.append(f"the git history of {root} has no files under {', '.join(kinds)}: "
                   "only LFS stubs and empty files can be found; pass manifest=")
  expected = {path: e for path, e in expected.items() if path.split("/", 1)[0] in kinds}

  problems = []
  if clips is not None:
    names = [clip.name if isinstance(clip, cremad.ClipName)
             else cremad.parse_clip_name(clip).name for clip in clips]
    paths = [f"{kind}/{name}{MEDIA_EXTENSIONS[kind]}" for kind in kinds for name in names]
  else:
    paths = set()
    for kind in kinds:
      present = _present_files(root, kind)
      if not present and (only_present or not any(p.startswith(kind + "/") for p in expected)):
        problems.append(FileProblem(f"{kind}/", "missing",
                                    f"no {MEDIA_EXTENSIONS[kind]} files in this folder"))
      paths.update(present)
    if not only_present:
      paths.update(expected)
    paths = sorted(paths)
  if only_present:
    paths = [p for p in paths if os.path.isfile(os.path.join(root, p))]
  unlisted = [p for p in paths if p not in expected]
  if expected and unlisted:
    notes.append(f"{len(unlisted)} file(s) not in {source} (e.g. {unlisted[0]}): checked "
                 "for stubs and empty files only")

  for path in paths:
    problem = check_file(os.path.join(root, path), path, expected.get(path), check_hashes)
    if problem:
      problems.append(problem)
  problems.sort(key=lambda p: (PROBLEM_KINDS.index(p.kind), p.path))
  return VerifyReport(root, source, len(paths), check_hashes and bool(expected), problems,
                      notes)


def main(argv: Sequence[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("root", help="the CREMA-D clone")
  parser.add_argument("--manifest", help="CSV with columns path,size,sha256")
  parser.add_argument("--kinds", default="VideoFlash", help="comma-separated media folders")
  parser.add_argument("--sizes_only", action="store_true", help="skip sha256 (fast)")
  parser.add_argument("--only_present", action="store_true", help="skip absent files")
  args = parser.parse_args(argv)
  report = verify_clone(args.root, args.manifest, tuple(args.kinds.split(",")),
                        check_hashes=not args.sizes_only, only_present=args.only_present)
  print(report.format())
  return 0 if report.ok else 1


if __name__ == "__main__":
  sys.exit(main())

"""Load the Large Movie Review Dataset (Maas et al. 2011) straight from its official layout.

Accepted sources: the official ``aclImdb_v1.tar.gz``, the repacked labeled tarball, or an extracted
``aclImdb/`` folder. Tarballs are streamed, never extracted. ``train/unsup`` is ignored.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

OFFICIAL_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
OFFICIAL_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
CACHE_DIR = Path(os.environ.get("IMDB_CACHE", Path.home() / ".cache" / "imdb-sentiment"))
DOWNLOAD_TIMEOUT_S = 15

# aclImdb/<split>/<pos|neg>/<id>_<rating>.txt
_MEMBER = re.compile(r"(?:^|/)aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")
LABELS = {"neg": 0, "pos": 1}
EXPECTED_PER_SPLIT = 25_000
Item = tuple[str, str, str, str, bytes]  # split, label, review id, rating, raw bytes


class DatasetError(RuntimeError):
    """The dataset could not be found, read or validated. The message says what to do."""


@dataclass(frozen=True)
class Split:
    texts: list[str]
    labels: list[int]
    ids: list[str]  # "<pos|neg>/<id>_<rating>", stable identifiers for sampling and debugging


@dataclass(frozen=True)
class Dataset:
    train: Split
    test: Split
    source: str
    sha256: str | None  # of the tarball; None for an extracted folder


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def resolve_source(data: str | None) -> Path:
    """``--data`` wins, then ``IMDB_DATA``, then the download cache, then a download."""
    chosen = data or os.environ.get("IMDB_DATA")
    if chosen:
        path = Path(chosen).expanduser()
        if not path.exists():
            raise DatasetError(f"dataset path does not exist: {path}")
        return path
    cached = CACHE_DIR / "aclImdb_v1.tar.gz"
    if cached.exists():
        return cached
    return download(cached)


def download(target: Path) -> Path:
    """Fetch the official tarball with a progress bar and verify its sha256."""
    from tqdm import tqdm

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    print(f"downloading {OFFICIAL_URL} -> {target}", file=sys.stderr)
    try:
        with urllib.request.urlopen(OFFICIAL_URL, timeout=DOWNLOAD_TIMEOUT_S) as resp:
            total = int(resp.headers.get("Content-Length", 0)) or None
            with partial.open("wb") as out, tqdm(total=total, unit="B", unit_scale=True) as bar:
                for chunk in iter(lambda: resp.read(1 << 20), b""):
                    out.write(chunk)
                    bar.update(len(chunk))
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise DatasetError(
            f"could not download the IMDB dataset ({exc}). Pass a local copy with "
            "--data PATH (or set IMDB_DATA) pointing at aclImdb_v1.tar.gz or an aclImdb/ folder."
        ) from exc
    digest = sha256_file(partial)
    if digest != OFFICIAL_SHA256:
        partial.unlink(missing_ok=True)
        raise DatasetError(f"downloaded file has sha256 {digest}, expected {OFFICIAL_SHA256}")
    partial.rename(target)
    return target


def _collect(items: list[Item], source: str) -> tuple[Split, Split]:
    # Sort by (split, label, numeric id) so the order is independent of archive/file-system order.
    items.sort(key=lambda it: (it[0], it[1], int(it[2]), it[3]))
    splits: dict[str, Split] = {"train": Split([], [], []), "test": Split([], [], [])}
    for split, label, review_id, rating, raw in items:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DatasetError(f"{source}: {split}/{label}/{review_id} is not UTF-8") from exc
        s = splits[split]
        s.texts.append(text)
        s.labels.append(LABELS[label])
        s.ids.append(f"{label}/{review_id}_{rating}")
    for name, s in splits.items():
        if not s.texts:
            raise DatasetError(
                f"{source}: no reviews under aclImdb/{name}/pos|neg — not the aclImdb layout"
            )
        if len(set(s.labels)) < 2:
            raise DatasetError(f"{source}: aclImdb/{name} holds only one class")
    return splits["train"], splits["test"]


def _read_tarball(path: Path) -> list[Item]:
    items: list[Item] = []
    try:
        with tarfile.open(path, mode="r:*") as tar:
            for member in tar:
                match = _MEMBER.search(member.name)
                if match is None or not member.isfile():
                    continue
                fh = tar.extractfile(member)
                if fh is not None:
                    split, label, review_id, rating = match.groups()
                    items.append((split, label, review_id, rating, fh.read()))
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DatasetError(f"{path}: not a readable tar archive ({exc})") from exc
    return items


def _read_folder(path: Path) -> list[Item]:
    root = path if path.name == "aclImdb" else path / "aclImdb"
    items: list[Item] = []
    for split in ("train", "test"):
        for label in LABELS:
            for file in (root / split / label).glob("*.txt"):
                match = _MEMBER.search(file.relative_to(root.parent).as_posix())
                if match is not None:
                    split_, label_, review_id, rating = match.groups()
                    items.append((split_, label_, review_id, rating, file.read_bytes()))
    return items


def load_imdb(data: str | None = None, *, verify_full: bool = False) -> Dataset:
    """Load both labeled splits. ``verify_full`` demands the full 25k/25k dataset."""
    path = resolve_source(data)
    if path.is_dir():
        items, digest = _read_folder(path), None
    else:
        items, digest = _read_tarball(path), sha256_file(path)
    train, test = _collect(items, str(path))
    if verify_full and (len(train.texts), len(test.texts)) != (EXPECTED_PER_SPLIT,) * 2:
        raise DatasetError(
            f"{path}: expected 25,000 train and 25,000 test reviews, "
            f"found {len(train.texts)} and {len(test.texts)}"
        )
    return Dataset(train=train, test=test, source=str(path), sha256=digest)


def fit_validation_split(train: Split, fraction: float, seed: int) -> tuple[Split, Split]:
    """The training split cut into (fit, validation), stratified by label, in the shuffled order
    ``train_test_split`` returns. Training, the proxies and the sweeps all hold out this same set."""
    from sklearn.model_selection import train_test_split

    fit_idx, val_idx = train_test_split(
        list(range(len(train.texts))), test_size=fraction, random_state=seed, stratify=train.labels
    )

    def take(idx: list[int]) -> Split:
        return Split(
            [train.texts[i] for i in idx],
            [train.labels[i] for i in idx],
            [train.ids[i] for i in idx],
        )

    return take(fit_idx), take(val_idx)


def subsample(split: Split, n: int, seed: int) -> Split:
    """A stratified, seeded subset (used by --quick)."""
    from sklearn.model_selection import train_test_split

    if len(split.texts) <= n:
        return split
    idx, _ = train_test_split(
        list(range(len(split.texts))), train_size=n, random_state=seed, stratify=split.labels
    )
    idx = sorted(idx)
    return Split(
        [split.texts[i] for i in idx], [split.labels[i] for i in idx], [split.ids[i] for i in idx]
    )

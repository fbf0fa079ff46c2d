"""The dataset's other two parts: its 50,000 unlabelled reviews and the movie of every review.

Both come in the official layout (``aclImdb/train/unsup/<id>_0.txt``; ``aclImdb/{train,test}/
urls_{pos,neg}.txt``, line ``i`` = the IMDb page of review ``<i>_<rating>.txt``), as a tarball (the
official ``aclImdb_v1.tar.gz`` or the shared repacks) or an extracted ``aclImdb/`` folder.

The unlabelled release overlaps the labelled one: 270 of its reviews are copies of a *test* review
(and 371 of a training review, 493 of each other). :func:`drop_copies` removes every review equal to
a labelled one, so the test set stays held out and validation stays unseen.
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from training.data import DatasetError, Split

_UNSUP = re.compile(r"(?:^|/)aclImdb/train/unsup/(\d+)_0\.txt$")
URLS_MEMBER = re.compile(r"(?:^|/)aclImdb/(train|test)/urls_(pos|neg)\.txt$")
_MOVIE = re.compile(r"/title/(tt\d+)")


def members(path: Path, pattern: re.Pattern[str]) -> Iterator[tuple[re.Match[str], bytes]]:
    """(match, bytes) of every file under ``path`` (tarball or folder) whose path matches."""
    if path.is_dir():
        root = path if path.name == "aclImdb" else path / "aclImdb"
        for file in sorted(root.rglob("*.txt")):
            match = pattern.search(file.relative_to(root.parent).as_posix())
            if match is not None:
                yield match, file.read_bytes()
        return
    try:
        with tarfile.open(path, mode="r:*") as tar:
            for member in tar:
                match = pattern.search(member.name)
                if match is not None and member.isfile():
                    fh = tar.extractfile(member)
                    if fh is not None:
                        yield match, fh.read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DatasetError(f"{path}: not a readable tar archive ({exc})") from exc


def load_unlabelled(path: Path) -> list[str]:
    """The unlabelled reviews, in id order."""
    found = [(int(m[1]), raw.decode("utf-8")) for m, raw in members(path, _UNSUP)]
    if not found:
        raise DatasetError(f"{path}: no aclImdb/train/unsup/*.txt reviews")
    return [text for _, text in sorted(found)]


def load_movies(path: Path) -> dict[str, dict[str, str]]:
    """``{"train"|"test": {"pos/12_8" style review id without rating: movie id}}``.

    Keys are ``"<pos|neg>/<id>"``; :func:`movies_of` matches them against ``Split.ids``.
    """
    movies: dict[str, dict[str, str]] = {"train": {}, "test": {}}
    for match, raw in members(path, URLS_MEMBER):
        split, label = match[1], match[2]
        for i, line in enumerate(raw.decode("utf-8").splitlines()):
            movie = _MOVIE.search(line)
            movies[split][f"{label}/{i}"] = movie[1] if movie else line.strip()
    if not movies["train"]:
        raise DatasetError(f"{path}: no aclImdb/train/urls_pos.txt / urls_neg.txt")
    return movies


def movies_of(split: Split, movies: dict[str, str]) -> list[str]:
    """The movie of each review of ``split`` (ids ``"pos/12_8"`` -> key ``"pos/12"``)."""
    out = []
    for review_id in split.ids:
        key = review_id.rsplit("_", 1)[0]
        if key not in movies:
            raise DatasetError(f"no movie for review {review_id}: urls file does not match")
        out.append(movies[key])
    return out


@dataclass(frozen=True)
class Unlabelled:
    texts: list[str]
    dropped_test_copies: int
    dropped_train_copies: int
    dropped_duplicates: int


def drop_copies(
    texts: Iterable[str], train_texts: Sequence[str], test_texts: Sequence[str]
) -> Unlabelled:
    """Unlabelled reviews minus copies of a labelled review (stripped text) and repeats."""
    test = {t.strip() for t in test_texts}
    train = {t.strip() for t in train_texts} - test
    kept: list[str] = []
    seen: set[str] = set()
    n_test = n_train = n_dup = 0
    for text in texts:
        key = text.strip()
        if key in test:
            n_test += 1
        elif key in train:
            n_train += 1
        elif key in seen:
            n_dup += 1
        else:
            seen.add(key)
            kept.append(text)
    leaked = test.intersection(t.strip() for t in kept)
    if leaked:  # cannot happen; the held-out test figure depends on it, so it is checked anyway
        raise AssertionError(f"{len(leaked)} unlabelled reviews still copy a test review")
    return Unlabelled(kept, n_test, n_train, n_dup)


def movie_validation_split(
    train: Split, movies: Sequence[str], fraction: float, seed: int
) -> tuple[Split, Split]:
    """(fit, validation) with every movie's reviews on one side, as the test set was built."""
    from sklearn.model_selection import GroupShuffleSplit

    if len(movies) != len(train.texts):
        raise ValueError("one movie per review is needed")
    splitter = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
    fit_idx, val_idx = next(splitter.split(train.texts, train.labels, groups=list(movies)))

    def take(idx: Iterable[int]) -> Split:
        idx = list(idx)
        return Split(
            [train.texts[i] for i in idx],
            [train.labels[i] for i in idx],
            [train.ids[i] for i in idx],
        )

    return take(fit_idx), take(val_idx)

"""Draw the small committed sample of real reviews used by tests on machines without the dataset.

    python -m training.sample --data ../shared/data/aclImdb_v1_labeled.tar.gz \
        --out tests/data/aclImdb_sample.tar.gz --per-class 150
    python -m training.sample --data ../shared/data/aclImdb_v1_labeled.tar.gz \
        --unsup ../shared/data/aclImdb_v1_unsup.tar.gz --movies ../shared/data/aclImdb_v1_urls.tar.gz \
        --out tests/data/aclImdb_sample_extra.tar.gz --extra-of tests/data/aclImdb_sample.tar.gz

The output keeps the official ``aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt`` layout, so it
loads through the same code path as the real tarball.
"""

from __future__ import annotations

import argparse
import gzip
import io
import random
import sys
import tarfile
from pathlib import Path

from training.data import DatasetError, Split, load_imdb
from training.options import command_parser

SEED = 1234


def _add(tar: tarfile.TarFile, name: str, text: str) -> None:
    payload = text.encode("utf-8")
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(payload), 0, 0o644  # reproducible archive
    tar.addfile(info, io.BytesIO(payload))


def _draw(split: Split, per_class: int, rng: random.Random) -> list[int]:
    chosen: list[int] = []
    for label in (0, 1):
        idx = [i for i, y in enumerate(split.labels) if y == label]
        if len(idx) < per_class:
            raise ValueError(f"only {len(idx)} reviews with label {label}, need {per_class}")
        chosen += sorted(rng.sample(idx, per_class))
    return chosen


def _write_extra(args: argparse.Namespace, tar: tarfile.TarFile) -> None:
    """The sample's unlabelled part: every unlabelled copy of a sampled test review (so the
    copy filter has something to drop) plus ``--unsup-count`` others, and the four urls files."""
    from training.unlabelled import URLS_MEMBER, load_unlabelled, members

    sample = load_imdb(args.extra_of)
    test = {t.strip() for t in sample.test.texts}
    unsup = load_unlabelled(args.unsup)
    copies = [i for i, t in enumerate(unsup) if t.strip() in test]
    rng = random.Random(SEED)
    taken = set(copies)
    others = rng.sample([i for i in range(len(unsup)) if i not in taken], args.unsup_count)
    for i in sorted([*copies, *others]):
        _add(tar, f"aclImdb/train/unsup/{i}_0.txt", unsup[i])
    for match, raw in members(args.movies, URLS_MEMBER):
        _add(tar, f"aclImdb/{match[1]}/urls_{match[2]}.txt", raw.decode("utf-8"))
    print(f"{len(copies)} unlabelled copies of sampled test reviews included")


def main(argv: list[str] | None = None) -> int:
    p = command_parser("python -m training.sample", __doc__)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--per-class", type=int, default=150, help="reviews per class and split")
    p.add_argument("--extra-of", type=Path, help="write the unlabelled + urls part of this sample")
    p.add_argument("--unsup", type=Path, help="with --extra-of: the unlabelled reviews")
    p.add_argument("--movies", type=Path, help="with --extra-of: the urls files")
    p.add_argument("--unsup-count", type=int, default=300, help="unlabelled reviews drawn")
    args = p.parse_args(argv)
    try:
        if args.per_class < 1:
            raise ValueError("--per-class must be >= 1")
        if args.extra_of is not None and (args.unsup is None or args.movies is None):
            raise ValueError("--extra-of needs --unsup and --movies")
        ds = load_imdb(args.data)
        rng = random.Random(SEED)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        # gzip's header holds a time and a file name: fixed, so the same draw is the same bytes.
        with (
            args.out.open("wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            if args.extra_of is not None:
                _write_extra(args, tar)
            else:
                for name, split in (("train", ds.train), ("test", ds.test)):
                    for i in _draw(split, args.per_class, rng):
                        _add(tar, f"aclImdb/{name}/{split.ids[i]}.txt", split.texts[i])
    except (ValueError, DatasetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

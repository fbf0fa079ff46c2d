"""Dataset loading: official layout from tarball or folder, and clear errors for everything else."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from training import data, train
from training.data import DatasetError, load_imdb

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "aclImdb_sample.tar.gz"


def _tarball(path: Path, files: dict[str, str]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            payload = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return path


def test_sample_tarball_loads_with_labels() -> None:
    ds = load_imdb(str(SAMPLE))
    assert len(ds.train.texts) == len(ds.test.texts) == 300
    assert sorted(set(ds.train.labels)) == [0, 1]
    for review_id, label in zip(ds.test.ids, ds.test.labels, strict=True):
        assert review_id.startswith("pos/" if label == 1 else "neg/")
    assert ds.sha256 is not None and len(ds.sha256) == 64


def test_extracted_folder_gives_the_same_reviews(tmp_path: Path) -> None:
    with tarfile.open(SAMPLE) as tar:
        tar.extractall(tmp_path, filter="data")
    from_folder = load_imdb(str(tmp_path / "aclImdb"))
    from_tar = load_imdb(str(SAMPLE))
    assert from_folder.train == from_tar.train and from_folder.test == from_tar.test
    assert from_folder.sha256 is None


def test_unsup_and_extra_files_are_ignored(tmp_path: Path) -> None:
    files = {
        "aclImdb/train/pos/1_9.txt": "great",
        "aclImdb/train/neg/2_1.txt": "awful",
        "aclImdb/train/unsup/3_0.txt": "unlabeled",
        "aclImdb/test/pos/4_8.txt": "fine",
        "aclImdb/test/neg/5_2.txt": "bad",
        "aclImdb/imdbEr.txt": "0.1",
    }
    ds = load_imdb(str(_tarball(tmp_path / "d.tar.gz", files)))
    assert ds.train.texts == ["awful", "great"] and ds.train.labels == [0, 1]
    assert ds.test.labels == [0, 1]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.tar.gz", "does not exist"),
        (
            lambda p: (
                (p / "corrupt.tar.gz").write_bytes(b"\x1f\x8b garbage") and p / "corrupt.tar.gz"
            ),
            "not a readable tar archive",
        ),
        (lambda p: _tarball(p / "wrong.tar.gz", {"reviews/a.txt": "x"}), "not the aclImdb layout"),
    ],
)
def test_bad_sources_fail_clearly(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DatasetError, match=message):
        load_imdb(str(make(tmp_path)))


def test_cli_exits_nonzero_with_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert train.main(["--data", str(tmp_path / "nope"), "--model-dir", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_bad_arguments_are_value_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert train.main(["--epochs", "0"]) == 2
    assert "--epochs" in capsys.readouterr().err


def test_download_failure_names_the_data_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No dataset given and nothing cached: the download is attempted and fails fast, offline."""
    monkeypatch.delenv("IMDB_DATA", raising=False)
    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(data, "OFFICIAL_URL", "http://127.0.0.1:9/aclImdb_v1.tar.gz")
    with pytest.raises(DatasetError, match="--data"):
        load_imdb(None)
    assert not list((tmp_path / "cache").glob("*"))  # no partial file left behind


def test_fit_validation_split_is_the_stratified_hold_out_training_uses() -> None:
    import numpy as np
    from sklearn.model_selection import train_test_split

    train_split = load_imdb(str(SAMPLE)).train
    fit, val = data.fit_validation_split(train_split, 0.1, 1234)
    assert len(fit.texts) == 270 and len(val.texts) == 30
    assert set(fit.ids).isdisjoint(val.ids) and sorted(fit.ids + val.ids) == sorted(train_split.ids)
    assert sum(val.labels) == 15  # stratified: half positive, like the split
    # Exactly train_test_split's shuffled order, which v1-v3 were trained with.
    _, val_idx = train_test_split(
        np.arange(300), test_size=0.1, random_state=1234, stratify=train_split.labels
    )
    assert val.ids == [train_split.ids[i] for i in val_idx]
    assert val.texts == [train_split.texts[i] for i in val_idx]
    assert data.fit_validation_split(train_split, 0.1, 1234) == (fit, val)

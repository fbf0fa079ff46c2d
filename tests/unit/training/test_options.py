"""training.options: the training command line; its defaults are the committed v3 recipe."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from training import baselines, options
from training.options import command_parser, parse_args

ROOT = Path(__file__).resolve().parents[3]
V3_METRICS = ROOT / "model_artifacts" / "imdb_lstm" / "3" / "metrics.json"
LEVERS = (
    "teacher", "label_weight", "spans", "stride", "token_dropout", "embedding_init", "patience",
    "stopwords", "lr_schedule", "weight_average", "review_epochs",
)  # fmt: skip
# v3 was trained before two changes to the command line: its "ppmi-svd" had the PMI shift bug that
# is now spelled "ppmi-svd-v3" (`ppmi-svd` is the textbook PPMI since), and --weight-average,
# --review-epochs and --init-from (all off for v3) did not exist yet.
V3_RENAMED = {"ppmi-svd": "ppmi-svd-v3"}


def v3_training() -> dict[str, object]:
    training: dict[str, object] = json.loads(V3_METRICS.read_text(encoding="utf-8"))["training"]
    return training


def v3_levers() -> dict[str, object]:
    levers = v3_training()["levers"]
    assert isinstance(levers, dict)
    levers = {
        "weight_average": 0.0,
        "review_epochs": 0,
        "init_from": None,
        "rare_word_dropout": None,
        **levers,
    }
    levers["embedding_init"] = V3_RENAMED.get(levers["embedding_init"], levers["embedding_init"])
    return levers


def test_defaults_are_v3s_recipe_with_the_ppmi_fix() -> None:
    recorded, levers = v3_training(), v3_levers()
    args = parse_args([])
    assert {name: getattr(args, name) for name in LEVERS} == {n: levers[n] for n in LEVERS} | {
        "embedding_init": "ppmi-svd"
    }
    v3 = parse_args(["--embedding-init", "ppmi-svd-v3", "--normalization", "none"])
    recorded_now = options.levers(v3, all_windows=True)  # what train.py records
    assert {k: recorded_now[k] for k in levers} == levers  # v3's levers, in full
    # the levers added since v3 read as v3's data path when their flags are not given
    assert {k: v for k, v in recorded_now.items() if k not in levers} == {
        "validation": "random 0.1", "unlabelled": False, "unsup_spans": 0,
        "normalization": "none",
    }  # fmt: skip
    assert args.epochs == recorded["max_epochs"] == options.MAX_EPOCHS
    assert recorded["batch_size"] == options.BATCH_SIZE


def test_the_recorded_v3_command_reproduces_v3_with_the_renamed_init() -> None:
    command = v3_training()["command"]
    assert isinstance(command, str)
    argv = [V3_RENAMED.get(a, a) for a in shlex.split(command)[3:]]  # after "python -m ..."
    args = parse_args(argv)
    assert {n: getattr(args, n) for n in LEVERS} == {n: v3_levers()[n] for n in LEVERS}
    assert args.version == 3 and args.argv == argv


def test_documented_constants() -> None:
    args = parse_args([])
    assert (args.windows, args.stride, args.spans) == (3, 80, 2)
    assert args.stride == options.MAXLEN  # training windows = serving windows
    assert args.model_dir == Path("model_artifacts/imdb_lstm")
    assert args.version is None and not args.overwrite and not args.quick
    assert args.rf_trees == baselines.RF_TREES and not args.no_baselines
    assert args.data is None and args.report is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--epochs", "0"], "--epochs must be >= 1"),
        (["--windows", "0"], "--windows must be >= 1"),
        (["--label-weight", "1.5"], r"--label-weight must be in \[0, 1\]"),
        (["--label-weight", "-0.1"], r"--label-weight must be in \[0, 1\]"),
        (["--token-dropout", "1.0"], r"--token-dropout must be in \[0, 1\)"),
        (["--token-dropout", "-0.2"], r"--token-dropout must be in \[0, 1\)"),
        (["--patience", "0"], "--patience must be >= 1"),
        (["--spans", "-1"], "--spans must be >= 0"),
        (["--stride", "0"], r"--stride must be in \[1, 80\]"),
        (["--stride", "81"], r"--stride must be in \[1, 80\]"),
        (["--rf-trees", "0"], "--rf-trees must be >= 1"),
        (["--version", "0"], "--version must be a positive integer"),
        (["--review-epochs", "-1"], "--review-epochs must be >= 0"),
        (["--rare-word-dropout", "1"], r"--rare-word-dropout must be in \[0, 1\)"),
        (["--rare-word-dropout", "0.4", "--token-dropout", "0"], "needs --token-dropout > 0"),
        (["--weight-average", "1"], r"--weight-average must be 0 \(off\) or in \(0, 1\)"),
        (["--weight-average", "-0.5"], r"--weight-average must be 0 \(off\) or in \(0, 1\)"),
        (["--teacher", "nblr-self", "--unsup", ""], "--teacher nblr-self needs --unsup"),
    ],
)
def test_out_of_range_values_are_refused_with_the_flag_named(argv: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_args(argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["--teacher", "svm"],
        ["--embedding-init", "glove"],
        ["--lr-schedule", "step"],
        ["--stopwords", "some"],
        ["--epochs", "ten"],
        ["--unknown"],
    ],
)
def test_malformed_arguments_exit_with_usage(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_args(argv)
    assert exc.value.code == 2
    assert "usage: python -m training.train" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "0.5", "0.999", "1"])
def test_edges_of_the_allowed_ranges(value: str) -> None:
    assert parse_args(["--label-weight", value]).label_weight == float(value)
    if float(value) < 1:
        assert parse_args(["--token-dropout", value]).token_dropout == float(value)
    assert parse_args(["--stride", "1"]).stride == 1 and parse_args(["--stride", "80"]).stride == 80


def test_quick_mode_is_one_epoch_and_a_small_forest() -> None:
    quick = parse_args(["--quick", "--epochs", "7", "--rf-trees", "500"])
    assert (quick.epochs, quick.rf_trees) == (1, 10)
    assert parse_args(["--quick", "--rf-trees", "3"]).rf_trees == 3


def test_command_parser_has_the_shared_data_flag() -> None:
    parser = command_parser("python -m training.example", "Doc line.")
    assert parser.parse_args(["--data", "x.tar.gz"]).data == "x.tar.gz"
    assert parser.parse_args([]).data is None
    assert parser.prog == "python -m training.example" and parser.description == "Doc line."


def test_epochs_zero_only_continues_from_an_artifact() -> None:
    with pytest.raises(ValueError, match=r"0 only with --init-from"):
        parse_args(["--epochs", "0"])
    args = parse_args(["--epochs", "0", "--init-from", "model_artifacts/imdb_lstm/3"])
    assert args.epochs == 0 and args.init_from == Path("model_artifacts/imdb_lstm/3")
    assert options.levers(args, all_windows=True)["init_from"] == "model_artifacts/imdb_lstm/3"
    assert parse_args(["--quick", "--review-epochs", "3"]).review_epochs == 1

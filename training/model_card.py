"""MODEL_CARD.md for an exported artifact."""

from __future__ import annotations

from typing import Any

from model_contract.network import DROPOUT, EMBEDDING_DIM, LSTM_UNITS, RECURRENT_DROPOUT
from model_contract.tokenizer import TokenizerConfig
from training.evaluation import format_table

RELIABILITY_FILE = "reliability.png"


def _scoring_section(metrics: dict[str, Any], maxlen: int) -> str:
    modes, scoring = metrics.get("test_modes"), metrics.get("scoring")
    if not modes or not scoring:
        return ""
    rows = [
        "| scoring | windows/review | test accuracy | ROC AUC | ECE before calibration | ECE after |",
        "|---|---|---|---|---|---|",
    ]
    for mode, name in (("whole", "whole review (every window)"), ("last", "last 80 tokens (seed)")):
        m = modes[mode]
        n_windows = modes["windows_per_review"] if mode == "whole" else 1
        rows.append(
            f"| {name}{' — default' if scoring['default_mode'] == mode else ''} | {n_windows} | "
            f"{m['accuracy']:.4f} | {m['roc_auc']:.4f} | {m['ece_uncalibrated']:.4f} | {m['ece']:.4f} |"
        )
    platt = ", ".join(f"{k}: a={v['a']:.3f}, b={v['b']:+.3f}" for k, v in scoring["platt"].items())
    if scoring.get("last_weight"):
        platt = (
            f"{platt}; in whole mode the mean is combined with {scoring['last_weight']:.3f} times the "
            "last window's log-odds first, a weight fitted on validation, where it beat the plain "
            "mean out of fold"
        )
    return f"""
## Scoring and calibration
A review becomes every {maxlen}-token window (stride {scoring["stride"]}, at most
{scoring["max_windows"]} per review, `model_contract/tokenizer.py: window_starts`); the windows' log-odds are
averaged and mapped through a Platt scaling fitted on the validation split ({platt}). The default
mode was chosen on validation. Expected calibration error: 15 equal-width confidence bins, test set.

{chr(10).join(rows)}

![Reliability diagram]({RELIABILITY_FILE})
"""


def _behaviour_section(metrics: dict[str, Any]) -> str:
    behaviour = metrics.get("behaviour")
    if not behaviour:
        return ""
    return f"""
## Behavioural suite (`python -m tests.model.behaviour_suite`)
{behaviour}
"""


def _held_out(metrics: dict[str, Any]) -> str:
    if metrics["data"].get("validation_split") == "movie":
        return "whole movies, as the test set was built from other movies than train"
    return "stratified"


def _unlabelled(metrics: dict[str, Any]) -> str:
    n = metrics["data"].get("unlabelled_reviews")
    if not n:
        return ""
    dropped = metrics["data"]["unlabelled_dropped"]
    return (
        f"\nAlso {n} of the dataset's 50,000 unlabelled reviews (other movies), their windows and "
        f"spans scored by the teacher; dropped first: {dropped['test_copies']} copies of a test "
        f"review, {dropped['train_copies']} of a training review, {dropped['repeats']} repeats."
    )


def _vocabulary(config: TokenizerConfig, metrics: dict[str, Any]) -> str:
    text = "vocabulary from the training split only"
    if metrics["data"].get("unlabelled_reviews"):
        text = (
            "vocabulary from the fit split and the unlabelled reviews (no validation or test text)"
        )
    if config.normalization != "none":
        text = (
            f"Unicode clean-up `{config.normalization}` first (model_contract/normalize.py), {text}"
        )
    return text


def _training_run(training: dict[str, Any]) -> str:
    run = (  # the line break is the committed cards' (they must be reproduced byte for byte)
        f"epochs run {training['epochs_run']}\n(best {training['best_epoch']}); training wall time "
        f"{training['wall_time_s']:.0f} s."
    )
    origin = training.get("weights_from")
    if not origin or training["epochs_run"]:
        return run
    return (
        f"the weights are those of an earlier run, `{origin['command']}` (epochs run "
        f"{origin['epochs_run']}, best {origin['best_epoch']}, wall time {origin['wall_time_s']:.0f} s); "
        f"this run (`{training['command']}`, {training['wall_time_s']:.0f} s) kept them and fitted "
        "the scoring and calibration on validation."
    )


def render_model_card(version: int, config: TokenizerConfig, metrics: dict[str, Any]) -> str:
    rows = {"LSTM (this model)": metrics["test"]} | {
        name: m for name, m in metrics.get("baselines", {}).items()
    }
    test = metrics["test"]
    cm = test["confusion_matrix"]
    return f"""# IMDB LSTM sentiment classifier — version {version}

## Model
Embedding({config.num_words}, {EMBEDDING_DIM}) → LSTM({LSTM_UNITS}, dropout {DROPOUT}, recurrent_dropout
{RECURRENT_DROPOUT}) → Dense(1, sigmoid), trained with Adam and binary cross-entropy, batch
{metrics["training"].get("batch_size", 32)}; training levers: `{metrics["training"].get("levers", {})}`. The exported graph is an inference copy with
`recurrent_dropout=0` and identical weights (max |Δp| on validation inputs:
{metrics.get("export_max_abs_diff", "n/a")}), so Keras may trace it with the fused cuDNN LSTM kernel; the
exported graph itself holds the generic loop (traced where TensorFlow saw no GPU). On a GPU the
service rebuilds the network from these weights and traces it there, and serves that cuDNN function
only if it equals this SavedModel within 1e-5 (docs/performance.md, "GPU": structurally tested,
not run on GPU hardware here).
Signature `serving_default`: int32 `token_ids` [batch, {config.maxlen}] → float32 `probability` [batch]
= P(positive).

## Data
Large Movie Review Dataset v1.0 (Maas et al., ACL 2011): {metrics["data"]["train_reviews"]} training
reviews, of which {metrics["data"]["validation_reviews"]} were held out ({_held_out(metrics)}, seed
{metrics["seed"]}) for early stopping; {test["n"]} test reviews scored once, at the end.
Dataset sha256: `{metrics["data"].get("sha256")}`.{_unlabelled(metrics)}

## Preprocessing
`model_contract/tokenizer.py` (fingerprint `{config.fingerprint()[:16]}…`): lowercase, `<br />` removed, words
matched by `{config.word_pattern}`, {len(set(config.stopwords))} function words dropped (negations
kept), {_vocabulary(config, metrics)}, Keras IMDB ids (0 pad, 1 start, 2 OOV, rank r → r+3,
ids < {config.num_words}), padded/truncated at the front to {config.maxlen} ids.

## Metrics (test set, {test["n"]} reviews, default scoring)
{format_table(rows)}
{_scoring_section(metrics, config.maxlen)}{_behaviour_section(metrics)}
Confusion matrix (threshold 0.5): TN {cm["tn"]}, FP {cm["fp"]}, FN {cm["fn"]}, TP {cm["tp"]}.
Validation accuracy {metrics["validation"]["accuracy"]:.4f}; {_training_run(metrics["training"])}

## Intended use
Coarse positive/negative sentiment of English movie reviews of typical IMDB length, for analytics or
triage. Not for decisions about individual people, and not for other domains without re-evaluation.

## Known limits
- The network reads {config.maxlen} kept words at a time; with whole-review scoring every window
  counts equally, in `last` mode only the last {config.maxlen} words count.
- Words outside the {config.num_words - 4} most frequent training words become one OOV id; slang,
  names and new titles carry no signal.
- Trained on polarised reviews (ratings ≤ 4 or ≥ 7): neutral or mixed text gets a confident-looking
  but meaningless probability; sarcasm and negation across long spans are often missed.
- Validation accuracy is optimistic by ~2 points: the official train/test split is by movie, but
  the validation hold-out is drawn from training reviews that share movies with the rest of the
  training split (the labeled archive carries no movie ids to group by). The test set is the honest
  number.
- English only. Calibration was fitted on validation reviews, which share movies with training;
  the test-set ECE above is the honest number.
"""

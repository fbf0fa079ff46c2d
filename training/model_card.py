"""MODEL_CARD.md for an exported artifact."""

from __future__ import annotations

from typing import Any

from app.tokenizer import TokenizerConfig
from training.evaluation import format_table


def render_model_card(version: int, config: TokenizerConfig, metrics: dict[str, Any]) -> str:
    rows = {"LSTM (this model)": metrics["test"]} | {
        name: m for name, m in metrics.get("baselines", {}).items()
    }
    test = metrics["test"]
    cm = test["confusion_matrix"]
    return f"""# IMDB LSTM sentiment classifier — version {version}

## Model
Embedding({config.num_words}, 128) → LSTM(64, dropout 0.2, recurrent_dropout 0.2) → Dense(1, sigmoid),
trained with Adam and binary cross-entropy, batch 32. The exported graph is an inference copy with
`recurrent_dropout=0` and identical weights (max |Δp| on validation inputs:
{metrics.get("export_max_abs_diff", "n/a")}), so it can use the fused cuDNN LSTM kernel on a GPU.
Signature `serving_default`: int32 `token_ids` [batch, {config.maxlen}] → float32 `probability` [batch]
= P(positive).

## Data
Large Movie Review Dataset v1.0 (Maas et al., ACL 2011): {metrics["data"]["train_reviews"]} training
reviews, of which {metrics["data"]["validation_reviews"]} were held out (stratified, seed
{metrics["seed"]}) for early stopping; {test["n"]} test reviews scored once, at the end.
Dataset sha256: `{metrics["data"].get("sha256")}`.

## Preprocessing
`app/tokenizer.py` (fingerprint `{config.fingerprint()[:16]}…`): lowercase, `<br />` removed, words
matched by `{config.word_pattern}`, {len(set(config.stopwords))} function words dropped (negations
kept), vocabulary from the training split only, Keras IMDB ids (0 pad, 1 start, 2 OOV, rank r → r+3,
ids < {config.num_words}), padded/truncated at the front to {config.maxlen} ids.

## Metrics (test set, {test["n"]} reviews)
{format_table(rows)}

Confusion matrix (threshold 0.5): TN {cm["tn"]}, FP {cm["fp"]}, FN {cm["fn"]}, TP {cm["tp"]}.
Validation accuracy {metrics["validation"]["accuracy"]:.4f}; epochs run {metrics["training"]["epochs_run"]}
(best {metrics["training"]["best_epoch"]}); training wall time {metrics["training"]["wall_time_s"]:.0f} s.

## Intended use
Coarse positive/negative sentiment of English movie reviews of typical IMDB length, for analytics or
triage. Not for decisions about individual people, and not for other domains without re-evaluation.

## Known limits
- **Only the last {config.maxlen} words count** (after dropping function words): a review that
  praises for three paragraphs and ends with a complaint is judged on the complaint.
- Words outside the {config.num_words - 4} most frequent training words become one OOV id; slang,
  names and new titles carry no signal.
- Trained on polarised reviews (ratings ≤ 4 or ≥ 7): neutral or mixed text gets a confident-looking
  but meaningless probability; sarcasm and negation across long spans are often missed.
- Validation accuracy is optimistic by ~2 points: the official train/test split is by movie, but
  the validation hold-out is drawn from training reviews that share movies with the rest of the
  training split (the labeled archive carries no movie ids to group by). The test set is the honest
  number.
- English only; the probability is not calibrated beyond what binary cross-entropy gives.
"""

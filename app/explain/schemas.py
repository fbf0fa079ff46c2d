"""Request and response models of ``POST /explain`` (the wire format; app/explain/words.py builds
answers of exactly this shape and the tests validate every answer against it)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas import ModelVersion, OnUnreadable, PredictResponse, ReviewText
from model_contract.scoring import Mode

TokenStatus = Literal["scored", "oov", "stopword", "not_scored", "not_explained"]
ExplainMethod = Literal["occlusion", "gradient"]


class ExplainRequest(BaseModel):
    """One review to explain (same text rules and limits as ``/predict``'s ``text``)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"text": "A moving, beautifully acted film."}]},
    )

    text: ReviewText = Field(description="One review.")
    scoring: Mode | None = Field(None, description="As for /predict; unset: the model's default.")
    model_version: ModelVersion | None = None
    on_unreadable: OnUnreadable | None = Field(
        None, description="As for /predict: 'refuse' answers an unreadable text with a 422."
    )
    method: ExplainMethod = Field(
        "gradient",
        description=(
            "'gradient' (default): gradient x (embedding - unknown-word embedding), one forward "
            "and backward pass per window - a first-order estimate, several times cheaper; "
            "'occlusion': each word removed, exact, one model row per (word, window). If the "
            "model version cannot be explained by gradient, a request that names 'gradient' is a "
            "422, one that leaves 'method' out is answered by occlusion (the answer's 'method' "
            "says which ran)."
        ),
    )


class TokenExplanation(BaseModel):
    text: str = Field(description="The word as written in the review.")
    start: int | None = Field(description="Character offset of the word in the review.")
    end: int | None = Field(description="End offset (exclusive); null if offsets are unavailable.")
    id: int | None = Field(description="Token id the model saw; null for a dropped stopword.")
    in_vocabulary: bool = Field(description="False for stopwords and out-of-vocabulary words.")
    status: TokenStatus = Field(
        description=(
            "'scored': the model saw it, contribution given; 'oov': seen only as the unknown-word "
            "id; 'stopword': dropped by the tokenizer; 'not_scored': outside every scored window; "
            "'not_explained': seen, but beyond this request's row budget."
        )
    )
    contribution: float | None = Field(
        description=(
            "In log-odds (see 'unit'): logit(P(positive)) minus logit(P(positive) without this "
            "word) - > 0 pushed towards positive, < 0 towards negative. Null unless status is "
            "'scored'."
        )
    )
    probability_change: float | None = Field(
        description=(
            "The same effect in probability: P(positive) minus P(positive) without this word. "
            "Near 0 for every word when the model is confident (P near 0 or 1)."
        )
    )


class ExplainResponse(PredictResponse):
    scoring: Mode = Field(description="How the review was scored ('whole' or 'last').")
    method: ExplainMethod
    baseline: Literal["remove", "oov"] = Field(
        description=(
            "What 'without this word' means: 'remove' (occlusion) - removed from each scored "
            "window holding it, the window keeps its end and one earlier word slides in; 'oov' "
            "(gradient) - replaced by the unknown-word id."
        )
    )
    unit: Literal["logit"] = Field(
        description="Unit of 'contribution': log-odds of P(positive), after calibration."
    )
    logit: float = Field(description="log(p / (1 - p)) of 'probability'.")
    rows: int = Field(
        ge=1, description="Model rows this explanation cost (windows + occlusion variants)."
    )
    explained_words: int = Field(ge=0, description="Words with a contribution.")
    tokens: list[TokenExplanation] = Field(description="Every word of the review, in order.")

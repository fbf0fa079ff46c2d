"""Request and response bodies.

Structural rules (exactly one of ``text``/``texts``, strings, non-blank) live here; the
deployment-tunable limits (MAX_TEXT_CHARS, MAX_TEXTS_PER_REQUEST) are checked against Settings
in ``app.routes`` and reported in the same 422 format.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, Self, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr, model_validator
from pydantic_core import PydanticCustomError

from app.config import MAX_TEXTS_CAP
from app.guards import known_fields_only
from model_contract.scoring import Mode

Label = Literal["positive", "negative"]
ItemT = TypeVar("ItemT", bound=BaseModel)


def _not_blank(value: str) -> str:
    # isspace() stops at the first visible character; strip() would copy the whole review.
    if value.isspace():
        raise PydanticCustomError("blank_text", "text must contain non-whitespace characters")
    return value


ReviewText = Annotated[StrictStr, Field(min_length=1), AfterValidator(_not_blank)]


class PredictRequest(BaseModel):
    """Either one review (``text``) or several (``texts``), never both."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"text": "A moving, beautifully acted film."},
                {"texts": ["Loved it.", "A dull, lifeless mess."]},
            ]
        },
    )

    text: ReviewText | None = Field(None, description="One review.")
    # max_length: pydantic checks a list's length before its items, so a 1 MB list of junk is one
    # error, not 500k; the deployment's own (lower) MAX_TEXTS_PER_REQUEST is applied in routes.
    texts: list[ReviewText] | None = Field(
        None, min_length=1, max_length=MAX_TEXTS_CAP, description="Several reviews."
    )
    scoring: Mode | None = Field(
        None,
        description=(
            "'whole': every 80-token window of the review is scored and the windows' log-odds "
            "averaged (then calibrated); 'last': only the last 80 kept tokens, the seed "
            "tutorial's input. Unset: the model's default (GET /model -> default_scoring)."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _known_fields_only(cls, data: Any) -> Any:
        # The plain dict, not ``model_fields`` (a property costing ~0.7 us per request).
        return known_fields_only(data, cls.__pydantic_fields__)

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.text is None) == (self.texts is None):
            raise PydanticCustomError("text_xor_texts", "provide exactly one of 'text' or 'texts'")
        return self

    @property
    def items(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts or [])

    @property
    def is_batch(self) -> bool:
        return self.texts is not None


# One result, three projections (``/predict``, ``/predict/probability``, ``/predict/label``): an
# item model per projection, its single-text response (item + model_version), and one generic
# batch envelope. The route serialises these models directly (app/routes.py).
_WINDOWS = Field(ge=1, description="80-token windows (model rows) scored for this text.")
_PROBABILITY = Field(ge=0, le=1, description="Calibrated P(positive).")


class Prediction(BaseModel):
    label: Label
    probability: float = _PROBABILITY
    windows: int = _WINDOWS


class ProbabilityOnly(BaseModel):
    probability: float = _PROBABILITY
    windows: int = _WINDOWS


class LabelOnly(BaseModel):
    label: Label
    windows: int = _WINDOWS


class PredictResponse(Prediction):
    model_version: str


class ProbabilityResponse(ProbabilityOnly):
    model_version: str


class LabelResponse(LabelOnly):
    model_version: str


class BatchResponse(BaseModel, Generic[ItemT]):
    predictions: list[ItemT] = Field(description="One per input text, in input order.")
    model_version: str


class ModelInfo(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    version: str
    state: str = Field(description="loading, ready, draining or stopped.")
    maxlen: int
    vocabulary_size: int
    threshold: float
    device: str
    xla: bool = Field(description="Model XLA-compiled (CPU only).")
    test_accuracy: float | None
    tokenizer_fingerprint: str
    max_batch_size: int
    max_batch_delay_ms: float
    default_scoring: Mode
    window_stride: int
    max_windows: int
    calibrated: bool = Field(description="A validation-fitted Platt scaling is applied.")


class Health(BaseModel):
    status: str


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer of this service has this shape."""

    detail: str = Field(description="Human-readable reason.")
    code: str = Field(description="Stable machine-readable code, e.g. 'validation_error'.")
    errors: list[dict[str, object]] | None = Field(None, description="Per-field problems.")


# --- POST /explain -------------------------------------------------------------------------
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
    method: ExplainMethod = Field(
        "occlusion",
        description=(
            "'occlusion' (default): each word removed, exact, one model row per (word, window); "
            "'gradient': gradient x (embedding - unknown-word embedding), one forward and "
            "backward pass per window - a first-order estimate, several times cheaper."
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

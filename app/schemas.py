"""Request and response bodies.

Structural rules (exactly one of ``text``/``texts``, strings, non-blank) live here; the
deployment-tunable limits (MAX_TEXT_CHARS, MAX_TEXTS_PER_REQUEST) are checked against Settings
in ``app.routes`` and reported in the same 422 format.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from app.config import MAX_TEXTS_CAP
from app.guards import known_fields_only
from app.unreadable import COVERAGE_FIELD, LANGUAGE_FIELD, READABLE_FIELD, REASON_FIELD, RefusedItem
from model_contract.readability import Reason
from model_contract.scoring import Mode
from model_contract.versions import VERSION_PATTERN

Label = Literal["positive", "negative"]
OnUnreadable = Literal["answer", "refuse"]
ItemT = TypeVar("ItemT", bound=BaseModel)


def _not_blank(value: str) -> str:
    # isspace() stops at the first visible character; strip() would copy the whole review.
    if value.isspace():
        raise PydanticCustomError("blank_text", "text must contain non-whitespace characters")
    return value


ReviewText = Annotated[StrictStr, Field(min_length=1), AfterValidator(_not_blank)]


ModelVersion = Annotated[
    str,
    StringConstraints(strict=True, pattern=VERSION_PATTERN),
    Field(
        description="A loaded version (GET /models) to score with; unset: the default. 404 else.",
        examples=["2"],
    ),
]


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
    model_version: ModelVersion | None = None
    on_unreadable: OnUnreadable | None = Field(
        None,
        description=(
            "What to do with a text the model cannot read (see 'readable'): 'answer' with the "
            "label and probability anyway, flagged; 'refuse' it - 422 'unreadable_text' for "
            "'text', a per-item 'error' inside a 'texts' batch. Unset: ON_UNREADABLE ('answer')."
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
    readable: bool = READABLE_FIELD
    reason: Reason | None = REASON_FIELD
    coverage: float = COVERAGE_FIELD
    language: str | None = LANGUAGE_FIELD


class ProbabilityOnly(BaseModel):
    probability: float = _PROBABILITY
    windows: int = _WINDOWS
    readable: bool = READABLE_FIELD
    reason: Reason | None = REASON_FIELD
    coverage: float = COVERAGE_FIELD
    language: str | None = LANGUAGE_FIELD


class LabelOnly(BaseModel):
    label: Label
    windows: int = _WINDOWS
    readable: bool = READABLE_FIELD
    reason: Reason | None = REASON_FIELD
    coverage: float = COVERAGE_FIELD
    language: str | None = LANGUAGE_FIELD


class PredictResponse(Prediction):
    model_version: str


class ProbabilityResponse(ProbabilityOnly):
    model_version: str


class LabelResponse(LabelOnly):
    model_version: str


class BatchResponse(BaseModel, Generic[ItemT]):
    predictions: list[ItemT | RefusedItem] = Field(
        description=(
            "One per input text, in input order; a text refused as unreadable "
            "(on_unreadable: refuse) is an item with 'error' instead of a prediction."
        )
    )
    model_version: str


class ModelInfo(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    version: str
    state: str = Field(description="loading, ready, draining or stopped.")
    manifest_sha256: str | None = Field(description="sha256 of the version's MANIFEST.sha256.")
    maxlen: int
    vocabulary_size: int
    threshold: float
    device: str
    xla: bool = Field(description="Model XLA-compiled (CPU only).")
    kernel: str = Field(
        description=(
            "What runs the LSTM: 'xla-cpu' (the SavedModel XLA-compiled, CPU), 'savedmodel' "
            "(the SavedModel's generic loop) or 'cudnn' (GPU: the network rebuilt from the "
            "artifact's weights, traced with the fused cuDNN kernel, checked equal to the "
            "SavedModel within 1e-5 at warm-up)."
        )
    )
    test_accuracy: float | None
    tokenizer_fingerprint: str
    max_batch_size: int
    max_batch_delay_ms: float
    default_scoring: Mode
    window_stride: int
    max_windows: int
    calibrated: bool = Field(description="A validation-fitted Platt scaling is applied.")


class ModelVersionInfo(BaseModel):
    version: str
    state: str = Field(description="'loading', 'ready', 'draining' or 'failed: <reason>'.")
    default: bool = Field(description="Serves requests that pin no model_version.")
    test_accuracy: float | None
    manifest_sha256: str | None = Field(description="sha256 of MANIFEST.sha256 (MODEL_SHA256).")
    tokenizer_fingerprint: str | None
    device: str | None


class ModelsResponse(BaseModel):
    default_version: str | None = Field(description="The version unpinned requests get.")
    policy: str = Field(description="MODEL_VERSIONS: 'latest', 'latest:N' or a list.")
    poll_s: float = Field(description="MODEL_POLL_S: seconds between scans (0: no hot reload).")
    versions: list[ModelVersionInfo] = Field(
        description="Highest version first; at most the 20 highest failed ones."
    )
    failed_not_listed: int = Field(default=0, description="Failed versions beyond those listed.")


class Health(BaseModel):
    status: str


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer of this service has this shape."""

    detail: str = Field(description="Human-readable reason.")
    code: str = Field(description="Stable machine-readable code, e.g. 'validation_error'.")
    errors: list[dict[str, object]] | None = Field(None, description="Per-field problems.")

"""The settings the service and the batch-scoring CLI share: which model, and how it scores.

``ModelSettings`` reads the environment variables both use (MODEL_DIR, MODEL_VERSION, MODEL_SHA256,
MAX_TEXT_CHARS, SCORING, THRESHOLD, XLA); the service's ``app.config.Settings`` extends it with
its HTTP and batching fields, so one variable means the same to both and is validated the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from model_contract.versions import MAX_VERSION

DEFAULT_MODEL_DIR = Path("model_artifacts/imdb_lstm")
# The repository root: model_contract/ lives directly below it.
_REPO_ROOT = Path(__file__).resolve().parent.parent


class ModelSettings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    model_dir: Path = Field(
        default=DEFAULT_MODEL_DIR, description="Folder holding <version>/ model artifacts."
    )
    model_sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-fA-F]{64}$",
        description="Every version loaded must have a MANIFEST.sha256 with this sha256.",
    )
    model_version: int | None = Field(
        default=None, ge=1, le=MAX_VERSION, description="Shorthand: MODEL_VERSIONS=<one>."
    )
    max_text_chars: int = Field(
        default=20_000, ge=1, description="Characters in one text, at most."
    )
    scoring: Literal["whole", "last"] | None = Field(
        default=None,
        description=(
            "Scoring mode for requests that do not name one: 'whole' (every 80-token window) or "
            "'last' (the seed's last 80 tokens). Unset: the artifact's validated default."
        ),
    )
    threshold: float = Field(
        default=0.5, ge=0, le=1, description="P(positive) >= threshold -> positive."
    )
    xla: bool = Field(
        default=True, description="On CPU, XLA-compile the model for each padded batch size."
    )

    def resolved_model_dir(self) -> Path:
        """The model dir as given, else relative to the repository root (cwd-independent)."""
        if self.model_dir.is_absolute() or self.model_dir.exists():
            return self.model_dir
        candidate = _REPO_ROOT / self.model_dir
        return candidate if candidate.exists() else self.model_dir


class StartupError(Exception):
    """A configuration or artifact problem: one ``refusing to start:`` line, never a traceback."""


S = TypeVar("S", bound=ModelSettings)


def read_settings(cls: type[S]) -> S:
    """``cls()`` from the environment, with every problem named by its variable."""
    try:
        return cls()
    except ValidationError as exc:
        # Names and rules only: values are not echoed (API_KEY is one of them).
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']).upper() or 'settings'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise StartupError(f"invalid environment: {problems} (see README Configuration)") from None

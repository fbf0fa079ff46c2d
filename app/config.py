"""Service configuration: one ``Settings`` object read from environment variables.

Every field maps to an upper-case environment variable of the same name (``MAX_BATCH_SIZE`` ...);
the README's "Configuration" section documents them all. The fields that pick and score the model
(MODEL_DIR, MODEL_VERSION, MODEL_SHA256, MAX_TEXT_CHARS, SCORING, THRESHOLD, XLA) are
``model_contract.settings.ModelSettings``'s, which the batch-scoring CLI reads as well.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator

from app.version_policy import VersionPolicy, parse_version_policy
from app.version_scan import ScanLimits
from model_contract.policy import BatchPolicy

# StartupError is re-exported: the service raises and reports it as the batch CLI does.
from model_contract.settings import ModelSettings, read_settings
from model_contract.settings import StartupError as StartupError

# Hard ceiling on MAX_TEXTS_PER_REQUEST, also the request schema's static maxItems: it bounds how
# many per-item errors one body can produce, whatever the deployment configures.
MAX_TEXTS_CAP = 1024
DEFAULT_ROWS_PER_REQUEST = 512


def _cap(default: int, what: str) -> Any:
    """A positive integer limit (the Field of most ``MAX_*`` settings)."""
    return Field(default=default, ge=1, description=f"{what}, at most.")


class Settings(ModelSettings):
    """The service's settings: the model's (shared with the batch CLI) and the HTTP service's."""

    model_versions: str | None = Field(
        default=None,
        description="Versions to serve: 'latest' (default), 'latest:N' or a list '1,2'.",
    )
    model_poll_s: float = Field(
        default=10.0,
        ge=0,
        le=3600,
        description="Look for new/removed versions under MODEL_DIR this often (0 = never).",
    )
    # Checked (lstat only) before a version folder is read; committed versions: 11-21 MB, 61 KB pb.
    model_max_bytes: int = _cap(256 * 2**20, "A version folder's total bytes")
    model_max_graph_bytes: int = _cap(16 * 2**20, "A version's saved_model.pb bytes")
    model_max_files: int = _cap(256, "Files and folders in one version folder")
    # 64, not 32: +13-17 % req/s at c=16/64/256 and -12 % CPU per request on the 2-core box
    # (bench.ab, interleaved); the cap only matters under load - a lone request still runs at once.
    max_batch_size: int = Field(
        default=64, ge=1, le=4096, description="Texts per model call, at most."
    )
    max_batch_delay_ms: float = Field(
        default=0.0,
        ge=0,
        le=10_000,
        description=(
            "How long a non-full batch waits for more texts. 0 = run what is queued at once "
            "(texts arriving during a model call form the next batch)."
        ),
    )
    max_queue_size: int = Field(
        default=1024, ge=1, description="Model rows (80-token windows) waiting, at most."
    )
    max_rows_per_request: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Model rows one request may cost (unset: min(512, MAX_QUEUE_SIZE)). Whole-review "
            "scoring gives each text up to the artifact's max_windows rows (32); a request of "
            "many long texts gets fewer windows per text (evenly thinned) to stay within it."
        ),
    )
    max_texts_per_request: int = Field(
        default=64, ge=1, le=MAX_TEXTS_CAP, description="Texts in one request, at most."
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Request body, at most.")
    request_timeout_s: float = Field(
        default=10.0, gt=0, description="Per-request deadline (504 after)."
    )
    wedged_ready_s: float = Field(
        default=10.0,
        gt=0,
        description="A model call running longer: /readyz 503 (app/watchdog.py).",
    )
    wedged_exit_s: float = Field(
        default=60.0,
        ge=0,
        description="Longer still: /healthz 503 and the process exits (0: never).",
    )
    on_unreadable: Literal["answer", "refuse"] = Field(
        default="answer",
        description="Texts the model cannot read: 'answer' (flagged) or 'refuse' (422 / per item).",
    )
    explain_prewarm: bool = Field(
        default=False,
        description="Build the default version's gradient explainer in the background at start.",
    )
    explain_gradient_versions: int = Field(
        default=1,
        ge=0,
        le=8,
        description="Versions with a gradient explainer at once (default first).",
    )
    api_key: SecretStr | None = Field(
        default=None, description="If set, predict routes need 'Authorization: Bearer <key>'."
    )
    log_level: Literal["debug", "info", "warning", "error", "critical"] = "info"
    retry_after_s: int = Field(default=1, ge=0, description="Retry-After header value on 503.")
    shutdown_delay_s: float = Field(
        default=0.0,
        ge=0,
        le=300,
        description="After SIGTERM: readiness 503 but still answering for this long, then drain.",
    )
    # Read deadlines and the head size cap, applied by ``app.protocol`` (uvicorn --http).
    header_timeout_s: float = Field(
        default=10.0, gt=0, le=300, description="Request head must arrive within this."
    )
    body_timeout_s: float = Field(
        default=15.0, gt=0, le=300, description="Request body must arrive within this."
    )
    max_header_bytes: int = Field(
        default=65_536, ge=1024, le=1_048_576, description="Request line + headers, at most."
    )
    warmup_batches: int = Field(default=2, ge=0, description="Warm-up calls per batch shape.")
    # Open Inference Protocol (KServe V2): REST on the HTTP port, gRPC on GRPC_PORT (app/v2/).
    v2_model_name: str = Field(
        default="imdb_lstm",
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="The model's name in the V2 protocol (/v2/models/<name>).",
    )
    grpc_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Serve V2 gRPC on this port in the same process (unset or empty: no gRPC).",
    )
    grpc_host: str = Field(default="127.0.0.1", description="Address the gRPC port binds to.")
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="'text' lines, or 'json': one JSON object per line (for log aggregators).",
    )

    @field_validator("api_key")
    @classmethod
    def _key_not_blank(cls, key: SecretStr | None) -> SecretStr | None:
        # ``API_KEY=`` (e.g. compose passing an unset host variable through) used to mean "no
        # auth" silently; an operator who wrote the variable meant to protect the service.
        if key is None:
            return None
        if not (stripped := key.get_secret_value().strip()):
            raise ValueError(
                "API_KEY is empty or blank: unset it to run without auth, or set a key"
            )
        # Stripped like the request's token (app.httputil.bearer_matches): a key read from a file
        # (kubectl --from-file) ends in a newline, and every request used to get 401.
        return SecretStr(stripped)

    @field_validator("grpc_port", mode="before")
    @classmethod
    def _grpc_off_when_empty(cls, port: Any) -> Any:
        # The image sets GRPC_PORT=8001; ``GRPC_PORT=`` (empty) is how a deployment turns it off.
        return None if isinstance(port, str) and not port.strip() else port

    @field_validator("model_versions")
    @classmethod
    def _versions_parse(cls, value: str | None) -> str | None:
        if value is not None:
            parse_version_policy(value)  # ValueError -> named MODEL_VERSIONS at start-up
        return value

    @model_validator(mode="after")
    def _check_versions(self) -> Self:
        if self.model_version is not None and self.model_versions is not None:
            raise ValueError("set MODEL_VERSIONS or MODEL_VERSION, not both")
        if self.model_sha256 is not None and self.version_policy.max_versions > 1:
            raise ValueError(
                "MODEL_SHA256 pins one artifact: use it with MODEL_VERSIONS=latest or one version"
            )
        return self

    @model_validator(mode="after")
    def _check_limits(self) -> Self:
        if self.max_queue_size < self.max_texts_per_request:
            # Otherwise a maximal request could never fit in the queue and would always get 503.
            raise ValueError("MAX_QUEUE_SIZE must be >= MAX_TEXTS_PER_REQUEST")
        rows = self.max_rows_per_request
        if rows is not None and not self.max_texts_per_request <= rows <= self.max_queue_size:
            raise ValueError(
                "need MAX_TEXTS_PER_REQUEST <= MAX_ROWS_PER_REQUEST <= MAX_QUEUE_SIZE "
                "(one row per text at least; a maximal request must fit in the queue)"
            )
        return self

    @property
    def rows_per_request(self) -> int:
        """The row budget of one request (see ``max_rows_per_request``)."""
        if self.max_rows_per_request is not None:
            return self.max_rows_per_request
        return max(self.max_texts_per_request, min(DEFAULT_ROWS_PER_REQUEST, self.max_queue_size))

    @property
    def scan_limits(self) -> ScanLimits:
        return ScanLimits(self.model_max_bytes, self.model_max_graph_bytes, self.model_max_files)

    @property
    def version_policy(self) -> VersionPolicy:
        if self.model_version is not None:
            return VersionPolicy(explicit=(self.model_version,))
        return parse_version_policy(self.model_versions or "latest")

    @property
    def batch_policy(self) -> BatchPolicy:
        return BatchPolicy(
            max_batch_size=self.max_batch_size,
            max_delay_s=self.max_batch_delay_s,
            max_queue_size=self.max_queue_size,
            xla=self.xla,
            warmup_repeats=self.warmup_batches,
        )

    @property
    def max_batch_delay_s(self) -> float:
        return self.max_batch_delay_ms / 1000.0


def load_settings() -> Settings:
    """``Settings()`` from the environment, with every problem named by its variable."""
    return read_settings(Settings)

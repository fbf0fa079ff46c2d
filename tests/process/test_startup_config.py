"""Start-up refusals (issue 9 items 4-5): one ``refusing to start:`` line and exit 1, no traceback;
auth is decided before any body is read."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError

from app.config import Settings
from app.main import create_app
from model_contract.artifact import ArtifactError, load_artifact
from model_contract.manifest import manifest_sha256, verify_manifest, write_manifest
from model_contract.tokenizer import word_index_sha256

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parents[2]


def _start(env: dict[str, str]) -> tuple[int | None, str]:
    """``uvicorn app.main:app`` with ``env``; (exit code or None if still up after 30 s, output)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--port", "0"],
        cwd=ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        out, _ = proc.communicate(timeout=30)
        return proc.returncode, out.decode(errors="replace")
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        out, _ = proc.communicate(timeout=30)
        return None, out.decode(errors="replace")


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"API_KEY": ""}, "API_KEY"),
        ({"API_KEY": "  \t"}, "API_KEY"),
        ({"MAX_BATCH_SIZE": "0"}, "MAX_BATCH_SIZE"),
        ({"MODEL_VERSION": "abc"}, "MODEL_VERSION"),
        ({"MODEL_VERSION": "0"}, "MODEL_VERSION"),
        ({"MAX_QUEUE_SIZE": "8"}, "MAX_QUEUE_SIZE"),
        ({"MODEL_VERSIONS": "latest:zero"}, "MODEL_VERSIONS"),
        ({"MODEL_VERSIONS": "1,,2"}, "MODEL_VERSIONS"),
        ({"MODEL_VERSIONS": "2", "MODEL_VERSION": "2"}, "MODEL_VERSIONS or MODEL_VERSION"),
        ({"MODEL_VERSIONS": "latest:2", "MODEL_SHA256": "0" * 64}, "MODEL_SHA256"),
        ({"MODEL_POLL_S": "-1"}, "MODEL_POLL_S"),
    ],
    ids=[
        "empty key",
        "blank key",
        "batch 0",
        "version abc",
        "version 0",
        "queue 8",
        "versions latest:zero",
        "versions 1,,2",
        "version and versions",
        "sha256 with two",
        "poll -1",
    ],
)
def test_bad_environment_refuses_to_start_in_one_line(env: dict[str, str], names: str) -> None:
    code, out = _start(env)
    assert code == 1, out[-2000:]
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out[-3000:]
    assert "refusing to start:" in lines[0] and names in lines[0]
    assert "Traceback" not in out


def test_blank_api_key_is_rejected_by_settings() -> None:
    with pytest.raises(ValidationError, match="API_KEY is empty or blank"):
        Settings(api_key=SecretStr(" "))


def test_unauthenticated_request_is_401_before_the_body_is_read() -> None:
    big = ('{"texts":[' + ",".join(["0"] * 400_000) + "]}").encode()
    with TestClient(create_app(Settings(api_key=SecretStr("s3cret")))) as c:
        for body in (b"{not json", b'{"text": "caf\xe9"}', big):
            for auth in ({}, {"Authorization": "Bearer wrong"}):
                response = c.post(
                    "/predict", content=body, headers={"content-type": "application/json", **auth}
                )
                assert response.status_code == 401, response.text[:200]
                assert response.json()["code"] == "unauthorized"
                assert response.headers["www-authenticate"] == "Bearer"
        ok = c.post("/predict", json={"text": "great"}, headers={"Authorization": "bearer s3cret"})
        assert ok.status_code == 200
        spec = c.get("/openapi.json").json()
        assert spec["paths"]["/predict"]["post"]["security"] == [{"bearer": []}]
        assert "security" not in spec["paths"]["/healthz"]["get"]
        # The documented open routes stay open with a key set.
        for route in ("/healthz", "/readyz", "/metrics", "/model", "/openapi.json", "/docs"):
            assert c.get(route).status_code == 200, route


def _artifact_copy(tmp_path: Path) -> Path:
    src = Settings().resolved_model_dir()
    version = max(int(p.name) for p in src.iterdir() if p.name.isdigit())
    dst = tmp_path / "imdb_lstm" / str(version)
    shutil.copytree(src / str(version), dst)
    return dst


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def _edit_json(path: Path, edit: Callable[[Any], Any]) -> None:
    path.write_text(json.dumps(edit(json.loads(path.read_text()))))


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda d: {**d, "tokenizer": {**d["tokenizer"], key: value}}


VARIABLES = "variables/variables.data-00000-of-00001"
CORRUPTIONS: dict[str, tuple[Callable[[Path], object], str]] = {
    "flipped byte in variables.data": (lambda d: _flip_byte(d / VARIABLES, 5_000_000), VARIABLES),
    "truncated variables.data": (
        lambda d: (d / VARIABLES).write_bytes((d / VARIABLES).read_bytes()[:1000]),
        VARIABLES,
    ),
    "deleted variables.data": (lambda d: (d / VARIABLES).unlink(), VARIABLES),
    "corrupt variables.index": (lambda d: _flip_byte(d / "variables/variables.index", 40), "index"),
    "corrupt saved_model.pb": (lambda d: _flip_byte(d / "saved_model.pb", 300), "saved_model.pb"),
    "word_index.json is a list": (
        lambda d: (d / "word_index.json").write_text("[1, 2]"),
        "word_index.json",
    ),
    "manifest missing": (lambda d: (d / "MANIFEST.sha256").unlink(), "MANIFEST.sha256"),
}
# Consistent but invalid edits (the manifest rewritten to match): still one line, never a traceback.
RESEALED: dict[str, tuple[Callable[[Path], object], str]] = {
    "word_index.json is a list": (
        lambda d: (d / "word_index.json").write_text("[1, 2]"),
        "word_index.json: expected an object",
    ),
    "preprocessing without tokenizer": (
        lambda d: _edit_json(d / "preprocessing.json", lambda p: {**p, "tokenizer": None}),
        "preprocessing.json: no 'tokenizer'",
    ),
    "unknown tokenizer key": (
        lambda d: _edit_json(d / "preprocessing.json", _set("colour", "blue")),
        "unknown tokenizer parameter 'colour'",
    ),
    "maxlen is a string": (
        lambda d: _edit_json(d / "preprocessing.json", _set("maxlen", "80")),
        "'maxlen' must be int",
    ),
}


def _refused_in_one_line(env: dict[str, str], names: str) -> None:
    code, out = _start(env)
    assert code == 1, out[-3000:]
    lines = [line for line in out.splitlines() if line.strip()]
    # uvicorn's own "Started server process" / "Waiting for application startup." come first;
    # the refusal is the one line after them, and the last.
    assert [line for line in lines if not line.startswith("INFO:")] == lines[-1:], out[-3000:]
    assert "refusing to start:" in lines[-1] and names in lines[-1], lines[-1]
    assert "Traceback" not in out


@pytest.mark.parametrize(("corrupt", "names"), CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_corrupted_artifact_is_named_in_one_line(
    tmp_path: Path, corrupt: Callable[[Path], object], names: str
) -> None:
    version_dir = _artifact_copy(tmp_path)
    corrupt(version_dir)
    _refused_in_one_line({"MODEL_DIR": str(version_dir.parent)}, names)


@pytest.mark.parametrize(("edit", "names"), RESEALED.values(), ids=RESEALED.keys())
def test_invalid_but_resealed_artifact_is_refused_in_one_line(
    tmp_path: Path, edit: Callable[[Path], object], names: str
) -> None:
    version_dir = _artifact_copy(tmp_path)
    edit(version_dir)
    write_manifest(version_dir)
    _refused_in_one_line({"MODEL_DIR": str(version_dir.parent)}, names)


def test_missing_listed_version_is_named_in_one_line() -> None:
    _refused_in_one_line({"MODEL_VERSIONS": "2,9"}, "model version 9 not found")


def test_pinned_manifest_refuses_a_coordinated_edit(tmp_path: Path) -> None:
    version_dir = _artifact_copy(tmp_path)
    pinned = manifest_sha256(version_dir)
    # Swap two words and update every hash that covers them: only the pin can tell.
    index_path = version_dir / "word_index.json"
    index = json.loads(index_path.read_text())
    # two kept words none of the golden examples holds, so the golden ids stay consistent too
    golden = " ".join(
        g["text"] for g in json.loads((version_dir / "preprocessing.json").read_text())["golden"]
    ).lower()
    a, b = [
        w
        for w in ("wonderful", "worst", "splendid", "abysmal", "superb", "dreadful")
        if w in index and w not in golden
    ][:2]
    index[a], index[b] = index[b], index[a]
    index_path.write_text(json.dumps(index))
    _edit_json(
        version_dir / "preprocessing.json",
        lambda p: {**p, "word_index_sha256": word_index_sha256(index)},
    )
    write_manifest(version_dir)
    load_artifact(version_dir.parent)  # consistent: without a pin it would be served
    with pytest.raises(ArtifactError, match="MODEL_SHA256"):
        load_artifact(version_dir.parent, manifest_sha256=pinned)
    load_artifact(Settings().resolved_model_dir(), manifest_sha256=None)


def test_committed_versions_carry_a_matching_manifest() -> None:
    model_dir = Settings().resolved_model_dir()
    for version_dir in sorted(p for p in model_dir.iterdir() if p.name.isdigit()):
        verify_manifest(version_dir)

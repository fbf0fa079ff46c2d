"""Start-up refusals (issue 9 items 4-5): one ``refusing to start:`` line and exit 1, no traceback;
auth is decided before any body is read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError

from app.config import Settings
from app.main import create_app

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
    ],
    ids=["empty key", "blank key", "batch 0", "version abc", "version 0", "queue 8"],
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

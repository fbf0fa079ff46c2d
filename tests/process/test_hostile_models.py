"""A hostile version folder against a real server process: a 1.5 GB sparse ``saved_model.pb`` is
refused before a byte is read (the process's peak RSS is what is at stake), the old version keeps
serving, one ERROR line. The folder-shape rules in-process: ``tests/api/test_hostile_models.py``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.api.model_dirs import TEXT, put_version
from tests.process.servers import ROOT, run_server, wait_for

pytestmark = pytest.mark.process

HUGE = "1500M"  # the red-team file: TensorFlow used to read it whole (5.3 GB peak RSS)


def _kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def huge_version(model_dir: Path, name: str, size: str = HUGE) -> Path:
    """A copy of v3 with a sparse ``saved_model.pb`` of ``size`` and a manifest that matches it."""
    staging = put_version(model_dir, f".{name}.copy")
    subprocess.run(["truncate", "-s", size, str(staging / "saved_model.pb")], check=True)
    subprocess.run(
        [sys.executable, "-m", "model_contract.manifest", str(staging)],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    return staging.rename(model_dir / name)


def test_huge_saved_model_refused_unread(tmp_path: Path) -> None:
    model_dir = tmp_path / "models"
    model_dir.mkdir()
    put_version(model_dir, "3")
    env = {"MODEL_DIR": str(model_dir), "MODEL_POLL_S": "0.2", "XLA": "0", "WARMUP_BATCHES": "1"}
    with run_server(tmp_path, **env) as server, httpx.Client(base_url=server.url, timeout=30) as c:
        assert c.post("/predict", json={"text": TEXT}).status_code == 200
        pid = server.proc.pid
        before = _kib(pid, "VmRSS")
        huge_version(model_dir, "7")

        def refused() -> bool:
            rows = {v["version"]: v["state"] for v in c.get("/models").json()["versions"]}
            return str(rows.get("7", "")).startswith("failed")

        wait_for(refused, 120)
        time.sleep(1.0)  # five more polls: a failed version is not tried again
        growth_mib = (_kib(pid, "VmHWM") - before) / 1024
        print(f"peak RSS growth while refusing a {HUGE} saved_model.pb: {growth_mib:.1f} MiB")
        assert growth_mib < 50
        body = c.get("/models").json()
        assert body["default_version"] == "3"
        state = {v["version"]: v["state"] for v in body["versions"]}["7"]
        assert "saved_model.pb is 1,572,864,000 bytes" in state and "MODEL_MAX_GRAPH_BYTES" in state
        assert c.post("/predict", json={"text": TEXT}).json()["model_version"] == "3"
        errors = [line for line in server.log().splitlines() if " ERROR " in line]
        assert len(errors) == 1 and "model version 7 refused (still serving 3)" in errors[0]

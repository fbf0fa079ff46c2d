"""The chaos cases of ``make chaos`` against a running compose stack (``scripts/chaos.sh`` starts it).

    .venv/bin/python -m bench.chaos --project P --api URL --prometheus URL --volume DIR \
        --compose-files a.yml,b.yml,c.yml [--cases kill,raise,wedge,queue,corrupt]

Eight clients post reviews to ``/predict`` without pause for the whole run (``bench.chaos_load``);
every answer is recorded with its time. Each case injects one fault, waits for the service to
recover, and reports what the clients saw in the case's window (statuses, connection errors) and
the recovery time; then its checks. Writes ``bench/results/chaos.json``; exit 1 if a check failed.

- ``kill``: ``kill -9`` of the service's process (from the host); ``restart: unless-stopped``
  brings it back;
  ``SentimentApiRestarted`` fires in Prometheus, then resolves.
- ``raise``: one model call raises (``app/chaos.py`` cue ``raise_once``): that batch's requests get
  500 ``inference_failed``, the next are served, ``sentiment_batch_errors_total`` counts one.
- ``wedge``: model calls hang (cue ``wedge``): ``/readyz`` 503 within ``WEDGED_READY_S``, the
  watchdog exits the process after ``WEDGED_EXIT_S``, Docker restarts it (its tmpfs, and the cue,
  are new), service back.
- ``queue``: version 4 renamed into the volume (a hot swap) while 48 more clients send 64-text
  batches: the queue (``MAX_QUEUE_SIZE=256``) fills; only 200 and 503 with ``Retry-After``, no
  500; the swap completes.
- ``corrupt``: a copy of version 3 with a damaged weights file dropped in as version 5: refused
  (``failed``), ``sentiment_model_reloads_total{result="failed"}`` +1, the default keeps serving,
  every request 200.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.chaos_load import Load, summary
from bench.server import REPO

RESULTS = REPO / "bench" / "results"


class Stack:
    def __init__(self, args: argparse.Namespace) -> None:
        self.api, self.prom, self.volume = args.api, args.prometheus, Path(args.volume)
        files = [f for name in args.compose_files.split(",") for f in ("-f", name)]
        self.compose = ["docker", "compose", "-p", args.project, *files]

    def run(self, *cmd: str) -> str:
        out = subprocess.run([*self.compose, *cmd], cwd=REPO, capture_output=True, text=True)
        return out.stdout.strip()

    def get(self, path: str) -> httpx.Response | None:
        try:
            return httpx.get(self.api + path, timeout=5)
        except httpx.HTTPError:
            return None

    def metric(self, name: str) -> float:
        r = self.get("/metrics")
        for line in (r.text if r is not None and r.status_code == 200 else "").splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return float("nan")

    def alert(self, name: str) -> str | None:
        """The alert's state in Prometheus (pending, firing) or None."""
        try:
            alerts = httpx.get(f"{self.prom}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
        except (httpx.HTTPError, ValueError, KeyError):
            return None
        return next((a["state"] for a in alerts if a["labels"].get("alertname") == name), None)


def wait(what: Callable[[], bool], limit_s: float, step_s: float = 0.2) -> float | None:
    """Seconds until ``what()`` held, or None after ``limit_s``."""
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        if what():
            return time.monotonic() - started
        time.sleep(step_s)
    return None


def ready(stack: Stack) -> bool:
    r = stack.get("/readyz")
    return r is not None and r.status_code == 200


def case_kill(stack: Stack, load: Load) -> dict[str, Any]:
    # The service's process, killed from the host: `docker kill` would count as a manual stop,
    # which no restart policy undoes; a process that dies is restarted (unless-stopped).
    container = stack.run("ps", "-q", "api")
    pid = subprocess.run(["docker", "inspect", "-f", "{{.State.Pid}}", container],
                         capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    started = time.monotonic()
    os.kill(int(pid), signal.SIGKILL)
    down = wait(lambda: not ready(stack), 30, 0.05)
    back = wait(lambda: ready(stack), 300)
    recovery = time.monotonic() - started if back is not None else None
    fired = wait(lambda: stack.alert("SentimentApiRestarted") == "firing", 120, 1.0)
    resolved = wait(lambda: stack.alert("SentimentApiRestarted") is None, 240, 1.0)
    return {"down_after_s": down, "recovery_s": recovery, "alert_fired_after_recovery_s": fired,
            "alert_resolved_after_firing_s": resolved,
            "checks": {"restarted": back is not None, "alert fired": fired is not None,
                       "alert resolved": resolved is not None}}  # fmt: skip


def case_raise(stack: Stack, load: Load) -> dict[str, Any]:
    before = stack.metric("sentiment_batch_errors_total")
    mark = load.mark()
    stack.run("exec", "-T", "api", "touch", "/tmp/faults/raise_once")
    counted = wait(lambda: stack.metric("sentiment_batch_errors_total") > before, 30)
    time.sleep(2.0)
    seen = load.since(mark)
    failed = [t for t, s in seen if s == "500"]
    served_after = [t for t, s in seen if s == "200" and failed and t > max(failed)]
    return {"batch_errors_counted": stack.metric("sentiment_batch_errors_total") - before,
            "recovery_s": (min(served_after) - max(failed)) if served_after else None,
            "checks": {"one batch counted": counted is not None,
                       "only that batch failed": 0 < len(failed) <= 64,
                       "served right after": bool(served_after)}}  # fmt: skip


def case_wedge(stack: Stack, load: Load) -> dict[str, Any]:
    started = time.monotonic()
    stack.run("exec", "-T", "api", "touch", "/tmp/faults/wedge")
    not_ready = wait(lambda: not ready(stack), 30)
    back = wait(lambda: ready(stack), 300)
    recovery = time.monotonic() - started if back is not None else None
    restarts = stack.run("ps", "--format", "{{.Name}} {{.Status}}", "api")
    return {"readiness_503_after_s": not_ready, "recovery_s": recovery, "api": restarts,
            "checks": {"readiness 503 within 5 s + 2 s": not_ready is not None and not_ready <= 7,
                       "restarted and ready": back is not None}}  # fmt: skip


def case_queue(stack: Stack, load: Load) -> dict[str, Any]:
    os.rename(stack.volume / ".4", stack.volume / "4")
    started = time.monotonic()
    with load.burst(48, texts=64) as burst:
        switched = wait(lambda: (r := stack.get("/models")) is not None
                        and r.json().get("default_version") == "4", 300)  # fmt: skip
        time.sleep(3.0)
    statuses = burst.statuses
    return {"swap_s": switched, "burst": statuses, "recovery_s": time.monotonic() - started,
            "checks": {"swap completed": switched is not None,
                       "queue filled (503s)": statuses.get("503", 0) > 0,
                       "every 503 had Retry-After": burst.no_retry_after == 0,
                       "only 200 and 503": set(statuses) <= {"200", "503"}}}  # fmt: skip


def case_corrupt(stack: Stack, load: Load) -> dict[str, Any]:
    before = stack.metric('sentiment_model_reloads_total{result="failed"}')
    staging = stack.volume / ".5"
    shutil.copytree(stack.volume / "3", staging)
    data = next((staging / "variables").glob("variables.data-*"))
    with data.open("r+b") as fh:  # damage the weights: the manifest no longer matches
        fh.seek(1000)
        fh.write(b"\xff" * 64)
    os.chmod(staging, 0o755)
    os.rename(staging, stack.volume / "5")
    refused = wait(lambda: any(v["version"] == "5" and v["state"].startswith("failed")
                               for v in (stack.get("/models") or httpx.Response(500)).json()
                               .get("versions", [])), 60)  # fmt: skip
    default = (stack.get("/models") or httpx.Response(500)).json().get("default_version")
    return {"refused_after_s": refused, "default_version": default, "recovery_s": 0.0,
            "failed_loads_counted": stack.metric('sentiment_model_reloads_total{result="failed"}')
            - before,
            "checks": {"refused": refused is not None, "old default serves": default == "4"}}  # fmt: skip


CASES = {"kill": case_kill, "raise": case_raise, "wedge": case_wedge, "queue": case_queue,
         "corrupt": case_corrupt}  # fmt: skip
# What the steady clients may see during a case; anything else fails it.
ALLOWED = {"kill": {"200", "conn_error", "503"}, "raise": {"200", "500"},
           "wedge": {"200", "503", "504", "conn_error"}, "queue": {"200", "503"},
           "corrupt": {"200"}}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("--project", "--api", "--prometheus", "--volume", "--compose-files"):
        ap.add_argument(name, required=True)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--out", type=Path, default=RESULTS / "chaos.json")
    args = ap.parse_args(argv)
    stack, results = Stack(args), {}
    with Load(args.api, clients=8) as load:
        time.sleep(5.0)
        for name in args.cases.split(","):
            wait(lambda: ready(stack), 300)
            mark = load.mark()
            result = CASES[name](stack, load)
            time.sleep(2.0)
            result["clients_saw"] = summary(load.since(mark))
            result["checks"]["clients saw only " + "/".join(sorted(ALLOWED[name]))] = set(
                result["clients_saw"]) <= ALLOWED[name]  # fmt: skip
            results[name] = result
            ok = all(result["checks"].values())
            print(f"{name}: {'PASS' if ok else 'FAIL'} {json.dumps(result)}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if all(all(r["checks"].values()) for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())

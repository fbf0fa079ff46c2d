"""Policy checks on rendered Kubernetes manifests: each returns a list of problems (empty = pass).

Pure functions over the parsed YAML and facts about the app (OpenAPI paths, exported metric
names, the measured replica profile, the image's command), so ``test_policy.py`` can run them on
the real render and also on deliberately broken copies to show that they catch the breakage.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from app import serve

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
ADAPTER_VALUES = ROOT / "deploy" / "k8s" / "prometheus-adapter" / "values.yaml"
UID = 10001

Doc = dict[str, Any]


def kind(docs: list[Doc], name: str) -> list[Doc]:
    return [d for d in docs if d.get("kind") == name]


def pod_specs(docs: list[Doc]) -> Iterator[tuple[str, Doc]]:
    for d in docs:
        if d.get("kind") in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
            yield f"{d['kind']}/{d['metadata']['name']}", d["spec"]["template"]["spec"]


def containers(spec: Doc) -> list[Doc]:
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def image_command() -> list[str]:
    """The Dockerfile's exec-form CMD: what runs when a container sets no command/args."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    match = re.search(r"^CMD\s+(\[.*\])\s*$", text, re.MULTILINE)
    assert match, "Dockerfile has no exec-form CMD"
    return list(yaml.safe_load(match.group(1)))


def effective_command(container: Doc) -> list[str]:
    """What the container runs, as a uvicorn command line: ``python -m app.serve OPTIONS`` is
    expanded to ``uvicorn`` with the flags ``app/serve.py`` adds (``SERVE_FLAGS``)."""
    cmd = [*container.get("command", []), *container.get("args", [])] or image_command()
    if cmd[1:3] == ["-m", "app.serve"]:
        return ["uvicorn", *serve.uvicorn_args(cmd[3:])]
    return cmd


def flag(cmd: list[str], name: str) -> str | None:
    for i, arg in enumerate(cmd):
        if arg == name and i + 1 < len(cmd):
            return cmd[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def env_of(docs: list[Doc], container: Doc) -> dict[str, str]:
    """The container's environment: ConfigMaps of envFrom in order, then env values."""
    maps = {d["metadata"]["name"]: d.get("data", {}) for d in kind(docs, "ConfigMap")}
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef")
        if ref:
            env.update(maps.get(ref["name"], {}))
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = str(var["value"])
    return env


def container_port(container: Doc, port: int | str) -> int | None:
    for p in container.get("ports", []):
        if port in (p.get("name"), p.get("containerPort")):
            return int(p["containerPort"])
    return None


def check_probes(docs: list[Doc], openapi: Doc) -> list[str]:
    """Probe paths are GET routes of the app; probe ports are the port uvicorn listens on."""
    problems = []
    get_paths = {p for p, ops in openapi["paths"].items() if "get" in ops}
    for where, spec in pod_specs(docs):
        for c in spec.get("containers", []):
            listen = int(flag(effective_command(c), "--port") or 8000)
            wanted = {"startupProbe": "/readyz", "readinessProbe": "/readyz"}
            wanted["livenessProbe"] = "/healthz"
            for probe_name, expected in wanted.items():
                probe = c.get(probe_name)
                if probe is None:
                    problems.append(f"{where}/{c['name']}: no {probe_name}")
                    continue
                http = probe.get("httpGet", {})
                path, port = http.get("path"), http.get("port")
                if path not in get_paths:
                    problems.append(f"{where}/{c['name']} {probe_name}: {path} is not a GET route")
                elif path != expected:
                    problems.append(f"{where}/{c['name']} {probe_name}: {path}, want {expected}")
                if container_port(c, port) != listen:
                    problems.append(
                        f"{where}/{c['name']} {probe_name}: port {port!r} is not the "
                        f"listening port {listen}"
                    )
    return problems


def check_startup_budget(docs: list[Doc], ready_s: list[float], factor: float = 3.0) -> list[str]:
    """startupProbe period x failureThreshold covers the slowest measured start-up `factor` times."""
    problems = []
    for where, spec in pod_specs(docs):
        for c in spec.get("containers", []):
            probe = c.get("startupProbe", {})
            budget = probe.get("periodSeconds", 10) * probe.get("failureThreshold", 3)
            if budget < factor * max(ready_s):
                problems.append(
                    f"{where}/{c['name']}: startup budget {budget}s < {factor} x slowest "
                    f"measured start {max(ready_s)}s"
                )
    return problems


def adapter_rules() -> dict[str, str]:
    """prometheus-adapter: exposed metric name -> the Prometheus series its rule reads."""
    values = yaml.safe_load(ADAPTER_VALUES.read_text(encoding="utf-8"))
    out = {}
    for rule in values["rules"]["custom"]:
        series = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", rule["seriesQuery"].strip("'\""))
        assert series, rule["seriesQuery"]
        out[rule["name"]["as"]] = series.group(0)
    return out


def check_hpa_metrics(docs: list[Doc], exported: set[str], rules: dict[str, str]) -> list[str]:
    """Every HPA Pods/Object metric is served by an adapter rule over an exported series."""
    problems = []
    deployments = {d["metadata"]["name"] for d in kind(docs, "Deployment")}
    for hpa in kind(docs, "HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        if target["kind"] != "Deployment" or target["name"] not in deployments:
            problems.append(f"HPA {hpa['metadata']['name']}: target {target} not rendered")
        types = {m["type"] for m in hpa["spec"]["metrics"]}
        if not {"Pods", "Resource"} <= types:
            problems.append(f"HPA {hpa['metadata']['name']}: needs a Pods and a Resource metric")
        for m in hpa["spec"]["metrics"]:
            if m["type"] in {"Pods", "Object"}:
                name = m[m["type"].lower()]["metric"]["name"]
                series = rules.get(name)
                if series is None:
                    problems.append(f"HPA metric {name}: no prometheus-adapter rule exposes it")
                elif series not in exported:
                    problems.append(f"HPA metric {name}: series {series} not on /metrics")
            elif m["type"] == "Resource" and m["resource"]["name"] not in {"cpu", "memory"}:
                problems.append(f"HPA resource metric {m['resource']['name']} unknown")
    return problems


def check_grace_period(docs: list[Doc]) -> list[str]:
    """Grace > preStop sleep + SHUTDOWN_DELAY_S + REQUEST_TIMEOUT_S + uvicorn's drain timeout."""
    problems = []
    for where, spec in pod_specs(docs):
        grace = spec.get("terminationGracePeriodSeconds", 30)
        for c in spec.get("containers", []):
            env = env_of(docs, c)
            pre = c.get("lifecycle", {}).get("preStop", {})
            sleep = float(pre.get("sleep", {}).get("seconds", 0))
            cmd = pre.get("exec", {}).get("command", [])
            if cmd[:1] == ["sleep"]:
                sleep = float(cmd[1])
            elif cmd[:2] == ["sh", "-c"] and cmd[2].startswith("sleep "):
                sleep = float(shlex.split(cmd[2])[1])
            delay = float(env.get("SHUTDOWN_DELAY_S", 0))
            timeout = float(env.get("REQUEST_TIMEOUT_S", 10))
            drain = float(flag(effective_command(c), "--timeout-graceful-shutdown") or 0)
            if not drain:
                problems.append(f"{where}/{c['name']}: no --timeout-graceful-shutdown bound")
            total = sleep + delay + timeout + drain
            if grace <= total:
                problems.append(
                    f"{where}/{c['name']}: terminationGracePeriodSeconds {grace} <= preStop "
                    f"{sleep} + SHUTDOWN_DELAY_S {delay} + REQUEST_TIMEOUT_S {timeout} + "
                    f"drain {drain} = {total}"
                )
    return problems

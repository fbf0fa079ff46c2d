"""Policy checks on the pod template and the objects around it (see ``policy.py``)."""

from __future__ import annotations

import re

from tests.deploy.policy import UID, Doc, containers, env_of, kind, pod_specs


def quantity_mib(value: str | int) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024**2, "k": 1e3 / 2**20,
             "M": 1e6 / 2**20, "G": 1e9 / 2**20}  # fmt: skip
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]i?|k)?", str(value))
    assert match, value
    return float(match.group(1)) * units.get(match.group(2) or "", 1 / 2**20)


def check_resources(docs: list[Doc], peak_rss_mib: float) -> list[str]:
    problems = []
    for where, spec in pod_specs(docs):
        for c in spec.get("containers", []):
            res = c.get("resources", {})
            req, lim = res.get("requests", {}), res.get("limits", {})
            if not {"cpu", "memory"} <= req.keys() or "memory" not in lim:
                problems.append(f"{where}/{c['name']}: needs cpu+memory requests, memory limit")
                continue
            if quantity_mib(req["memory"]) < peak_rss_mib:
                problems.append(
                    f"{where}/{c['name']}: memory request {req['memory']} < measured peak RSS "
                    f"{peak_rss_mib} MiB"
                )
            if quantity_mib(lim["memory"]) < quantity_mib(req["memory"]):
                problems.append(f"{where}/{c['name']}: memory limit below request")
    return problems


def check_security(docs: list[Doc]) -> list[str]:
    problems = []
    for where, spec in pod_specs(docs):
        pod = spec.get("securityContext", {})
        if pod.get("runAsNonRoot") is not True:
            problems.append(f"{where}: pod securityContext.runAsNonRoot is not true")
        for c in containers(spec):
            sc = {**pod, **c.get("securityContext", {})}
            who = f"{where}/{c['name']}"
            if sc.get("runAsUser") != UID or sc.get("runAsNonRoot") is not True:
                problems.append(f"{who}: must run as non-root uid {UID}")
            if c.get("securityContext", {}).get("readOnlyRootFilesystem") is not True:
                problems.append(f"{who}: readOnlyRootFilesystem is not true")
            if c.get("securityContext", {}).get("allowPrivilegeEscalation") is not False:
                problems.append(f"{who}: allowPrivilegeEscalation is not false")
            if "ALL" not in c.get("securityContext", {}).get("capabilities", {}).get("drop", []):
                problems.append(f"{who}: capabilities do not drop ALL")
            if sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
                problems.append(f"{who}: seccompProfile is not RuntimeDefault")
            if sc.get("privileged"):
                problems.append(f"{who}: privileged")
    return problems


def check_images(docs: list[Doc]) -> list[str]:
    problems = []
    for where, spec in pod_specs(docs):
        for c in containers(spec):
            image = c["image"]
            name, _, tag = image.rpartition(":") if "@" not in image else (image, "", "digest")
            if "/" not in (name or image):
                problems.append(f"{where}/{c['name']}: image {image!r} has no registry/repo")
            if not tag or "/" in tag:
                problems.append(f"{where}/{c['name']}: image {image!r} has no tag or digest")
            elif tag == "latest":
                problems.append(f"{where}/{c['name']}: image {image!r} uses the latest tag")
    return problems


def check_wiring(docs: list[Doc], settings_fields: set[str]) -> list[str]:
    """Rollout, spread, scratch space, selectors and ports agree across the objects."""
    problems = []
    deployments = kind(docs, "Deployment")
    hpa_targets = {
        h["spec"]["scaleTargetRef"]["name"] for h in kind(docs, "HorizontalPodAutoscaler")
    }
    for d in deployments:
        name, spec = d["metadata"]["name"], d["spec"]
        labels = spec["template"]["metadata"]["labels"]
        if spec.get("strategy", {}).get("rollingUpdate", {}).get("maxUnavailable") != 0:
            problems.append(f"Deployment/{name}: rollingUpdate.maxUnavailable must be 0")
        if name in hpa_targets and "replicas" in spec:
            problems.append(f"Deployment/{name}: sets replicas although an HPA owns the count")
        pod = spec["template"]["spec"]
        if not pod.get("topologySpreadConstraints"):
            problems.append(f"Deployment/{name}: no topologySpreadConstraints")
        tmp = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
        for c in pod["containers"]:
            if not any(
                m["mountPath"] == "/tmp" and m["name"] in tmp for m in c.get("volumeMounts", [])
            ):
                problems.append(f"Deployment/{name}/{c['name']}: no emptyDir on /tmp")
            for key in env_of(docs, c):
                if key.lower() not in settings_fields and not key.startswith(("TF_", "NVIDIA_")):
                    problems.append(f"Deployment/{name}/{c['name']}: {key} is not a setting")
        ports = {
            p.get("name"): p["containerPort"] for c in pod["containers"] for p in c.get("ports", [])
        }
        annotations = spec["template"]["metadata"].get("annotations", {})
        scraped = annotations.get("prometheus.io/scrape") == "true"
        if scraped and int(annotations.get("prometheus.io/port", 0)) not in ports.values():
            problems.append(f"Deployment/{name}: prometheus.io/port is not a container port")
        for svc in kind(docs, "Service"):
            if svc["spec"]["selector"].items() <= labels.items():
                for p in svc["spec"]["ports"]:
                    if p["targetPort"] not in ports and p["targetPort"] not in ports.values():
                        problems.append(f"Service/{svc['metadata']['name']}: bad targetPort")
        for pdb in kind(docs, "PodDisruptionBudget"):
            if not pdb["spec"]["selector"]["matchLabels"].items() <= labels.items():
                problems.append(f"PDB/{pdb['metadata']['name']}: selects no pod of {name}")
    svc_ports = {p["name"] for s in kind(docs, "Service") for p in s["spec"]["ports"]}
    for sm in kind(docs, "ServiceMonitor"):
        for ep in sm["spec"]["endpoints"]:
            if ep["port"] not in svc_ports or ep.get("path", "/metrics") != "/metrics":
                problems.append(f"ServiceMonitor/{sm['metadata']['name']}: bad endpoint {ep}")
    return problems

"""Render monitoring/prometheus/alerts.yml (compose's rule file) as a Prometheus Operator PrometheusRule.

    .venv/bin/python -m deploy.gen_prometheusrule           # rewrite deploy/k8s/base/prometheusrule.yaml
    .venv/bin/python -m deploy.gen_prometheusrule --check   # exit 1 if it is stale (tests/deploy does this)

One source of truth for the alerts: edit alerts.yml (and its promtool tests), then regenerate.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
ALERTS = ROOT / "monitoring" / "prometheus" / "alerts.yml"
OUT = ROOT / "deploy" / "k8s" / "base" / "prometheusrule.yaml"
HEADER = """\
# Generated from monitoring/prometheus/alerts.yml by `python -m deploy.gen_prometheusrule` -- do
# not edit by hand (tests/deploy fails when the two differ). The label `release`/`prometheus`
# selector your Prometheus Operator uses for rules may need adding in an overlay.
"""


def _str(dumper: Any, value: str) -> Any:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


# A SafeDumper writing multi-line strings (the PromQL expressions) as literal blocks, as alerts.yml.
_Dumper: Any = type("_Dumper", (yaml.SafeDumper,), {})
_Dumper.add_representer(str, _str)


def render() -> str:
    alerts: dict[str, Any] = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "imdb-sentiment",
            "labels": {
                "app.kubernetes.io/name": "imdb-sentiment",
                "app.kubernetes.io/component": "api",
            },
        },
        "spec": {"groups": alerts["groups"]},
    }
    body = yaml.dump(rule, Dumper=_Dumper, sort_keys=False, width=1000, allow_unicode=True)
    return HEADER + str(body)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = ap.parse_args(argv)
    text = render()
    rel = OUT.relative_to(ROOT)
    if args.check:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{rel} is stale: run `python -m deploy.gen_prometheusrule`", file=sys.stderr)
            return 1
        print(f"{rel} is up to date")
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {rel}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Replicas needed for 1k / 10k / 100k req/s at p99 <= 100 ms, from the measured replica profile.

    .venv/bin/python -m deploy.capacity [--profile deploy/replica_profile.json] [--scale 1.0]

Two answers per load: the bare minimum (load / the highest rate one replica serves within the p99
bound) and where the manifest's HPA settles after an hour of that constant load (maxReplicas
lifted so the table is not capped), with the per-pod load and p99 there.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from deploy.hpa import Hpa
from deploy.replica_model import PROFILE, ReplicaModel
from deploy.simulate_hpa import P99_BOUND_MS, manifest, parse_args, simulate

LOADS = (1_000, 10_000, 100_000)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", type=Path, default=PROFILE)
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args(argv)
    model = ReplicaModel.from_profile(args.profile, scale=args.scale)
    spec, cpu_request = manifest()
    per_replica = model.rate_at_p99(P99_BOUND_MS)
    print(
        f"one replica: p99 <= {P99_BOUND_MS:.0f} ms up to {per_replica:.0f} req/s, "
        f"saturates at {model.capacity:.0f} req/s"
    )
    print(
        "| load req/s | bare minimum | HPA settles at | per pod req/s | p99 ms there | manifest maxReplicas enough? |"
    )
    print("|---:|---:|---:|---:|---:|---|")
    for load in LOADS:
        bare = math.ceil(load / per_replica)
        hpa = Hpa.from_spec({**spec, "maxReplicas": 10_000})
        sim_args = parse_args(["--flat", "--peak", str(load), "--seconds", "3600"])
        res = simulate("steady", hpa, model, cpu_request, sim_args)
        _, _, ready, starting, _, _, p99 = res.rows[-1]
        enough = (
            "yes"
            if ready + starting <= spec["maxReplicas"]
            else f"no: raise above {ready + starting}"
        )
        print(
            f"| {load:,} | {bare} | {ready + starting} | {load / ready:.0f} | {p99:.0f} | {enough} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

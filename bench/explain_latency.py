"""/explain vs /predict latency at concurrency 1 on the same ~1.7 KB real review.

One service (``bench.server``: the serve settings of ``make serve``) and one keep-alive connection;
the two routes alternate request by request, so drift on this shared machine hits both alike.
Prints one table row per case: p50/p95 of each route, the ratio of the medians, what an explanation
cost (model rows, windows, explained words), and - in-process, after the server stopped - the p50 of
the model calls alone for those rows and for /predict's rows.

    .venv/bin/python -m bench.explain_latency [--n 300] [--chars 1700]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import time
from typing import Any

import numpy as np

from bench.reviews import dataset_path
from bench.server import Server


def pick_review(chars: int) -> str:
    """The test review whose length is closest to ``chars`` (ties: the smallest string)."""
    from training.data import load_imdb

    texts = load_imdb(str(dataset_path())).test.texts
    return min(texts, key=lambda t: (abs(len(t.encode()) - chars), t))


def longest_allowed(max_chars: int) -> str:
    """Real test reviews joined up to MAX_TEXT_CHARS characters: the most an /explain can cost."""
    from training.data import load_imdb

    out = ""
    for text in load_imdb(str(dataset_path())).test.texts:
        if len(out) + 1 + len(text) > max_chars:
            break
        out = f"{out} {text}" if out else text
    return out


def post(conn: http.client.HTTPConnection, path: str, body: bytes) -> tuple[float, Any]:
    t0 = time.perf_counter()
    conn.request("POST", path, body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    data = response.read()
    elapsed = time.perf_counter() - t0
    if response.status != 200:
        raise RuntimeError(f"{path}: {response.status} {data[:300]!r}")
    return elapsed, json.loads(data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=300, help="requests per route and mode")
    parser.add_argument("--chars", type=int, default=1700, help="review size in bytes (UTF-8)")
    args = parser.parse_args()
    text = pick_review(args.chars)
    print(
        f"review: {len(text.encode())} bytes, {len(text.split())} words; {args.n} requests per "
        f"route and mode, alternating, c=1; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}"
    )
    from app.config import Settings

    longest = longest_allowed(Settings().max_text_chars)
    cases = [("last", text), ("whole", text), ("whole", longest)]
    rows = []
    with Server("service", "app.main:app", {}) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        version = json.loads(server_get(conn, "/model"))["version"]
        for scoring, review in cases:
            body = json.dumps({"text": review, "scoring": scoring}).encode()
            for _ in range(20):  # warm-up: connection, caches, every padded batch size
                post(conn, "/predict", body)
                post(conn, "/explain", body)
            times: dict[str, list[float]] = {"/predict": [], "/explain": []}
            for _ in range(args.n if review is text else max(20, args.n // 10)):
                for path in times:
                    elapsed, _answer = post(conn, path, body)
                    times[path].append(elapsed * 1000)
            _, explained = post(conn, "/explain", body)
            p = {k: np.percentile(v, [50, 95]) for k, v in times.items()}
            rows.append(
                (f"{scoring}, {len(review.encode()):,} B", p["/predict"], p["/explain"], explained)
            )
        conn.close()
    models = model_only(cases)
    print(f"\nmodel version {version}; load average now {os.getloadavg()[0]:.2f}\n")
    print(
        "| scoring, review | /predict p50 ms | /predict p95 ms | /explain p50 ms | /explain p95 ms "
        "| ratio of p50s | rows | windows | words explained | model only: /explain rows ms "
        "| model only: /predict rows ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (scoring, pred, expl, answer), (m_expl, m_pred) in zip(rows, models, strict=True):
        print(
            f"| {scoring} | {pred[0]:.2f} | {pred[1]:.2f} | {expl[0]:.2f} | {expl[1]:.2f} | "
            f"{expl[0] / pred[0]:.1f}x | {answer['rows']} | {answer['windows']} | "
            f"{answer['explained_words']} | {m_expl:.2f} | {m_pred:.2f} |"
        )
    return 0


def model_only(cases: list[tuple[str, str]], repeats: int = 50) -> list[tuple[float, float]]:
    """In-process, the service's own runner (its default batch policy: XLA, batches of 64): p50 ms of the model calls for
    one explanation's rows and for /predict's rows of the same review."""
    from app.config import Settings
    from app.explain import plan_explanation
    from model_contract.artifact import load_artifact
    from model_contract.runner import ModelRunner

    settings = Settings()
    artifact = load_artifact(settings.resolved_model_dir())
    runner = ModelRunner(artifact.path, artifact.tokenizer.config.maxlen, settings.batch_policy)
    runner.warmup()
    step = settings.max_batch_size
    policy, out = artifact.scoring, []

    def run(rows: np.ndarray) -> float:
        t0 = time.perf_counter()
        for i in range(0, len(rows), step):
            runner.predict(np.ascontiguousarray(rows[i : i + step]))
        return (time.perf_counter() - t0) * 1000

    for scoring, review in cases:
        plan = plan_explanation(
            artifact.tokenizer, policy, review, scoring,  # type: ignore[arg-type]
            max_windows=policy.max_windows, max_rows=settings.rows_per_request,
        )  # fmt: skip
        base = plan.rows[: plan.n_windows]
        for _ in range(5):
            run(plan.rows), run(base)
        pairs = [(run(plan.rows), run(base)) for _ in range(repeats)]
        out.append(
            (float(np.median([e for e, _ in pairs])), float(np.median([p for _, p in pairs])))
        )
    return out


def server_get(conn: http.client.HTTPConnection, path: str) -> bytes:
    conn.request("GET", path)
    return conn.getresponse().read()


if __name__ == "__main__":
    raise SystemExit(main())

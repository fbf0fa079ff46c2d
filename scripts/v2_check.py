"""Score reviews over V2 REST and V2 gRPC with Triton's own clients and hold them to POST /predict.

Against a running service (``make serve``: HTTP on 8000, gRPC on 8001; or the compose stack):

    .venv/bin/python scripts/v2_check.py                      # 127.0.0.1:8000 and :8001
    .venv/bin/python scripts/v2_check.py --http H:P --grpc H:P --api-key KEY

Prints each review's P(positive) from the three and exits 1 unless labels match and the
probabilities agree within 1e-6 (FP32 against /predict's float64).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request

import numpy as np
import tritonclient.grpc as triton_grpc
import tritonclient.http as triton_http

MODEL = "imdb_lstm"
REVIEWS = [
    "An absolute masterpiece. Brilliant acting and a wonderful, moving story.",
    "Dreadful. A boring, stupid plot, awful acting and terrible dialogue.",
    "This movie was not good at all. I would not recommend it.",
]
TOLERANCE = 1e-6


def predict(http: str, headers: dict[str, str]) -> dict[str, object]:
    request = urllib.request.Request(
        f"http://{http}/predict",
        data=json.dumps({"texts": REVIEWS}).encode(),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body: dict[str, object] = json.load(response)
    return body


def infer(module: object, url: str, headers: dict[str, str]) -> tuple[list[float], list[str]]:
    client = module.InferenceServerClient(url)  # type: ignore[attr-defined]
    tensor = module.InferInput("text", [len(REVIEWS)], "BYTES")  # type: ignore[attr-defined]
    tensor.set_data_from_numpy(np.array([r.encode() for r in REVIEWS], dtype=np.object_))
    result = client.infer(MODEL, [tensor], headers=dict(headers))
    client.close()
    labels = [v.decode() for v in result.as_numpy("label")]
    return result.as_numpy("probability").tolist(), labels


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--http", default="127.0.0.1:8000", help="host:port of the HTTP API")
    parser.add_argument("--grpc", default="127.0.0.1:8001", help="host:port of V2 gRPC")
    parser.add_argument("--api-key", default=None, help="API_KEY, if the service has one")
    args = parser.parse_args()
    headers = {"authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    reference = predict(args.http, headers)["predictions"]
    assert isinstance(reference, list)
    rest = infer(triton_http, args.http, headers)
    grpc = infer(triton_grpc, args.grpc, headers)
    worst = 0.0
    print(f"{'review':42} {'/predict':>10} {'V2 REST':>10} {'V2 gRPC':>10}  label")
    for i, review in enumerate(REVIEWS):
        p = float(reference[i]["probability"])
        label = reference[i]["label"]
        worst = max(worst, abs(rest[0][i] - p), abs(grpc[0][i] - p))
        same = rest[1][i] == grpc[1][i] == label
        print(f"{review[:40]:42} {p:10.6f} {rest[0][i]:10.6f} {grpc[0][i]:10.6f}  {label}"
              f"{'' if same else '  LABELS DIFFER'}")  # fmt: skip
        if not same:
            worst = float("inf")
    print(f"largest |difference| from /predict: {worst:.2e} (tolerance {TOLERANCE:g})")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())

"""Regenerate the example answers in README.md and docs/ (api, explain, readability) from the model.

    .venv/bin/python scripts/doc_examples.py           # rewrite the example blocks in place
    .venv/bin/python scripts/doc_examples.py --check   # exit 1 and show the drift, change nothing

Each example block sits between ``<!-- doc-examples:NAME -->`` and ``<!-- /doc-examples -->``
and is rewritten whole: the curl commands from the requests below, every ``# {...}`` answer from
what the in-process app (the committed artifacts, the default settings: the highest version is
the default) answers to them. Run it after a new model version lands, then commit the docs;
``tests/api/test_doc_examples.py`` fails while an example differs from the server's answer
(floats within a relative 1e-5: the last bits of a float32 model may differ across CPUs).
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 100
BLOCK = re.compile(r"(<!-- doc-examples:([a-z-]+) -->\n)(.*?)(<!-- /doc-examples -->)", re.S)
FLOAT = re.compile(r"-?\d+\.\d+(?:e-?\d+)?")
HEX = re.compile(r"\b([0-9a-f]{4})[0-9a-f]{56}([0-9a-f]{4})\b")


@dataclass(frozen=True)
class Call:
    path: str
    body: dict[str, Any] | None = None
    app: str = "default"  # "default": every committed version, "two": MODEL_VERSIONS=latest:2


class Apps:
    """In-process apps on the committed model (TestClient runs the lifespan: load, warm-up)."""

    def __init__(self, stack: ExitStack) -> None:
        sys.path.insert(0, str(ROOT))
        from fastapi.testclient import TestClient

        from app.config import Settings
        from app.main import create_app

        def client(**overrides: Any) -> Any:
            settings = Settings(**overrides)
            return stack.enter_context(TestClient(create_app(settings)))

        self.clients = {"default": client(), "two": client(model_versions="latest:2")}

    def answer(self, call: Call) -> tuple[int, str]:
        client = self.clients[call.app]
        if call.body is None:
            response = client.get(call.path)
        else:
            response = client.post(call.path, json=call.body)
        return response.status_code, response.text

    def json(self, call: Call) -> Any:
        return json.loads(self.answer(call)[1])


def wrap(text: str, first: str = "# ", rest: str = "#  ") -> list[str]:
    """``text`` as comment lines of at most WIDTH characters, broken after commas outside strings."""
    pieces, start, in_string, escaped = [], 0, False, False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            in_string = not in_string
        elif ch == "," and not in_string:
            pieces.append(text[start : i + 1])
            start = i + 1
    pieces.append(text[start:])
    lines, line, prefix = [], "", first
    for piece in pieces:
        if line and len(prefix) + len(line) + len(piece) > WIDTH:
            lines.append(prefix + line)
            line, prefix = "", rest
        line += piece
    lines.append(prefix + line)
    return lines


def short(text: str) -> str:
    """Hashes and fingerprints (64 hex digits) as ``abcd…wxyz``: the rest is noise to a reader."""
    return HEX.sub(r"\1…\2", text)


def curl(call: Call, extra: str = "") -> list[str]:
    cmd = f"curl -s $U{call.path}"
    if call.body is None:
        return [cmd + extra]
    cmd += " -H 'Content-Type: application/json'"
    body = json.dumps(call.body, ensure_ascii=False)
    if len(cmd) + len(body) + 6 <= WIDTH:
        return [f"{cmd} -d '{body}'{extra}"]
    texts = call.body.get("texts")
    if texts is None or len(call.body) != 1:
        return [cmd + " \\", f"     -d '{body}'{extra}"]
    lead = '     -d \'{"texts": ['
    items = [json.dumps(t, ensure_ascii=False) for t in texts]
    lines = [lead + items[0] + ","] + [" " * len(lead) + t + "," for t in items[1:]]
    lines[-1] = lines[-1][:-1] + "]}'" + extra
    return [cmd + " \\", *lines]


def answered(apps: Apps, call: Call) -> list[str]:
    """The curl command and the server's answer, as the docs show it."""
    status, text = apps.answer(call)
    prefix = "" if status == 200 else f"{status} "
    return [*curl(call), *wrap(prefix + short(text))]


# ---- the blocks ------------------------------------------------------------------------------


def readme_predict(apps: Apps) -> list[str]:
    one = Call("/predict", {"text": "This movie was not good at all. I would not recommend it."})
    many = Call(
        "/predict",
        {
            "texts": [
                "I expected to hate it, but it turned out to be one of the best films of the year.",
                "A dull, lifeless mess.",
            ]
        },
    )
    return [
        "U=http://127.0.0.1:8000",
        *answered(apps, one),
        "",
        *answered(apps, many),
        "",
        *curl(Call("/predict", {"text": "...", "scoring": "last"})),
        '# "scoring": "whole" (default: every 80-token window, averaged) or "last" '
        "(the seed's last 80 tokens)",
        "curl -s $U/model     # default version, scoring policy, calibration, device, kernel, "
        "batching policy",
        "curl -s $U/models    # every loaded version and its state; pin one with "
        '"model_version": "<N>"',
    ]


def api_routes(apps: Apps) -> list[str]:
    versions = [v["version"] for v in apps.json(Call("/models", app="two"))["versions"]]
    newest, older = versions[0], versions[1]
    missing = str(min(int(v) for v in versions) - 1)
    negation = Call("/predict/probability", {"text": "Not bad at all."})
    return [
        "U=http://127.0.0.1:8000",
        *answered(
            apps,
            Call("/predict", {"text": "A wonderful, moving film with brilliant performances."}),
        ),
        "",
        *answered(
            apps,
            Call(
                "/predict", {"texts": ["Loved it, a masterpiece.", "A dull, lifeless mess. Avoid."]}
            ),
        ),
        "",
        *curl(negation),
        *wrap(apps.answer(negation)[1] + "   (negation across words is a known weakness)"),
        "",
        *answered(apps, Call("/predict/label", {"texts": ["Terrible.", "Great!"]})),
        "",
        *curl(Call("/healthz"), "   # " + apps.answer(Call("/healthz"))[1]),
        *curl(Call("/readyz"), "    # " + apps.answer(Call("/readyz"))[1]),
        *answered(apps, Call("/model")),
        "curl -s $U/metrics | grep '^sentiment_'",
        "",
        f"# Several versions (MODEL_VERSIONS=latest:2, here {newest} and {older}): pin one per "
        "request;",
        "# the answer says which version scored it.",
        *answered(apps, Call("/predict", {"text": "Great!", "model_version": older}, app="two")),
        *answered(apps, Call("/predict", {"text": "Great!", "model_version": missing}, app="two")),
        *answered(apps, Call("/models", app="two")),
        "",
        "# With API_KEY set, the predict routes and /explain need a bearer token (the GET routes "
        "stay open, see reliability.md):",
        'curl -s $U/predict -H "Authorization: Bearer $API_KEY" -H \'Content-Type: '
        'application/json\' -d \'{"text": "Great!"}\'',
    ]


EXPLAINED = "A wonderful film, though the ending is awful."
SHOWN_WORDS = ("wonderful", "awful")


def explain_example(apps: Apps) -> list[str]:
    call = Call("/explain", {"text": EXPLAINED})
    answer = apps.json(call)
    tokens = answer.pop("tokens")
    head = json.dumps(answer, separators=(",", ":"), ensure_ascii=False)[:-1] + ',"tokens":['
    lines = [*curl(call), *wrap("{" + head[1:])]
    shown = [0] + [i for i, t in enumerate(tokens) if t["text"] in SHOWN_WORDS]
    for n, i in enumerate(shown):
        if n and i != shown[n - 1] + 1:
            lines.append("#   ...")
        end = "]}" if i == len(tokens) - 1 else ","
        token = json.dumps(tokens[i], separators=(",", ":"), ensure_ascii=False)
        lines += wrap(token + end, first="#   ", rest="#    ")
    if shown[-1] != len(tokens) - 1:
        lines.append("#   ...]}")
    exact = apps.json(Call("/explain", {"text": EXPLAINED, "method": "occlusion"}))
    words = ", ".join(
        f"{t['text']} {t['contribution']:.4f}" for t in exact["tokens"] if t["text"] in SHOWN_WORDS
    )
    lines += [
        '# The exact method: -d \'{"text": "...", "method": "occlusion"}\' -> '
        f'"method":"{exact["method"]}",',
        f'#  "baseline":"{exact["baseline"]}","rows":{exact["rows"]}; {words} (log-odds).',
    ]
    return lines


def api_unreadable(apps: Apps) -> list[str]:
    refuse = {"on_unreadable": "refuse"}
    return [
        *answered(apps, Call("/predict", {"text": "asdkjh qwpeoiru zmxncb"})),
        *answered(apps, Call("/predict", {"text": "👍👍👍", **refuse})),
        *answered(apps, Call("/predict/label", {"texts": ["Great!", "👍👍👍"], **refuse})),
    ]


def readability_example(apps: Apps) -> list[str]:
    texts = ["Loved it!", "meh", "bleh", "👍👍👍", "Der Film war langweilig und viel zu lang."]
    return answered(apps, Call("/predict", {"texts": texts}))


BLOCKS: dict[str, tuple[str, Callable[[Apps], list[str]]]] = {
    "readme-predict": ("README.md", readme_predict),
    "api-routes": ("docs/api.md", api_routes),
    "api-unreadable": ("docs/api.md", api_unreadable),
    "explain-example": ("docs/explain.md", explain_example),
    "readability-example": ("docs/readability.md", readability_example),
}
FILES = sorted({path for path, _ in BLOCKS.values()})


def render(path: str, text: str, apps: Apps) -> str:
    """``text`` with every example block of ``path`` regenerated."""

    def block(match: re.Match[str]) -> str:
        name = match.group(2)
        owner, make = BLOCKS[name]
        if owner != path:
            raise SystemExit(f"{path}: block {name!r} belongs in {owner}")
        body = "\n".join(["```bash", *make(apps), "```"]) + "\n"
        return match.group(1) + body + match.group(4)

    names = [m.group(2) for m in BLOCK.finditer(text)]
    wanted = sorted(n for n, (owner, _) in BLOCKS.items() if owner == path)
    if sorted(names) != wanted:
        raise SystemExit(f"{path}: example blocks {sorted(names)}, expected {wanted}")
    return BLOCK.sub(block, text)


def same(doc: str, fresh: str, rel: float = 1e-5) -> bool:
    """The texts are equal but for floats, which may differ by ``rel`` (relative)."""
    if FLOAT.sub("F", doc) != FLOAT.sub("F", fresh):
        return False
    pairs = zip(FLOAT.findall(doc), FLOAT.findall(fresh), strict=True)
    return all(math.isclose(float(a), float(b), rel_tol=rel, abs_tol=1e-9) for a, b in pairs)


def drift(apps: Apps, root: Path = ROOT) -> Iterator[tuple[str, str, str]]:
    """(path, text in the repository, regenerated text) for every file whose examples drifted."""
    for path in FILES:
        text = (root / path).read_text(encoding="utf-8")
        fresh = render(path, text, apps)
        if not same(text, fresh):
            yield path, text, fresh


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="report drift, change nothing (exit 1)")
    args = ap.parse_args(argv)
    with ExitStack() as stack:
        drifted = list(drift(Apps(stack)))
    for path, text, fresh in drifted:
        if args.check:
            sys.stdout.writelines(
                difflib.unified_diff(
                    text.splitlines(keepends=True), fresh.splitlines(keepends=True), path, path
                )
            )
        else:
            (ROOT / path).write_text(fresh, encoding="utf-8")
            print(f"rewrote the examples of {path}")
    if not drifted:
        print("the examples match the server's answers")
    return 1 if drifted and args.check else 0


if __name__ == "__main__":
    sys.exit(main())

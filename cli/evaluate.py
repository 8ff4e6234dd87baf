"""`sectag evaluate`: the evaluation report for a model version."""

from __future__ import annotations

from pathlib import Path

from .common import add_common, load_labels, open_registry, progress


def cmd_evaluate(args) -> int:
    from model.evaluation import evaluate, write_report

    registry = open_registry(args)
    result = evaluate(load_labels(args), registry, version=args.version, against=args.against,
                      test_file=args.test, progress=progress("cross-validation fold"))
    out = args.out or Path("reports") / result["model_version"]
    write_report(result, out)
    rows = [("all rows", result["cv"]["all"]), ("seed rows", result["cv"]["seed"])]
    if result["cv"].get("review"):
        rows.append(("reviewed", result["cv"]["review"]))
    if result["test"]:
        rows.append(("test file", result["test"]))
    print(f"model {result['model_version']}: macro-F1 (model / keywords / majority)")
    for name, block in rows:
        print(f"  {name:10s} {block['model']['macro_f1']:.3f} / "
              f"{block['keywords']['macro_f1']:.3f} / {block['majority']['macro_f1']:.3f}"
              f"  ({block['rows']} rows)")
    for name, block in (result.get("actors") or {}).items():
        if block:
            s, p = block["sentences"] or {}, block["partners"] or {}
            print(f"  actors ({name}): precision {s.get('precision', '-')}, recall "
                  f"{s.get('recall', '-')}, F1 {s.get('f1', '-')}; partner exact match "
                  f"{p.get('exact_match', '-')} over {p.get('articles', 0)} articles")
    if result["comparison"]:
        c = result["comparison"]
        print(f"  against {c['old']}: {len(c['changed'])} sentences changed tags")
    print(f"wrote {out}/report.html, report.md, metrics.json")
    return 0


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="write the evaluation report for a model version")
    add_common(p)
    p.add_argument("--version", help="model version (default: current)")
    p.add_argument("--against", help="version to compare with (default: the previous one)")
    p.add_argument("--test", type=Path, help="external labelled CSV, evaluated without training")
    p.add_argument("--out", type=Path, help="output folder (default: reports/<version>)")
    p.set_defaults(func=cmd_evaluate)

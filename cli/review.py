"""`sectag review queue|export|simulate`: fill the review queue, export answers, measure the loop."""

from __future__ import annotations

import json
from pathlib import Path

from model.errors import SectagError

from .common import (add_common, add_review_db, load_labels, open_registry, path_option,
                     progress)


def cmd_queue(args) -> int:
    from model.batch import BatchJob, Columns, detect_format
    from model.review import ReviewStore
    from model.review.candidates import fill_queue, read_candidates
    from model.tagger import Tagger

    labels = load_labels(args)
    try:
        job = BatchJob(str(args.input), "-", detect_format(str(args.input), args.format),
                       "jsonl", unit=args.unit,
                       columns=Columns(args.id_column, args.text_column, args.max_chars,
                                       args.source_column))
        candidates, rows, refused = read_candidates(job)
    except (ValueError, OSError) as exc:
        raise SectagError(f"cannot read {args.input}: {exc}") from exc
    tagger = Tagger.from_registry(open_registry(args), args.version)
    store = ReviewStore(args.review_db)
    picks, added = fill_queue(store, tagger, labels.topics, candidates,
                              known_texts=labels.texts, limit=args.limit)
    print(f"{rows} rows read ({refused} refused), {len(candidates)} distinct sentences scored "
          f"by model {tagger.version}; {len(picks)} picked, {added} new in the queue "
          f"{store.where}")
    for pick in picks[:args.show]:
        print(f"  {pick.priority:.3f}  {candidates[pick.index].text[:90]}\n         {pick.reason}")
    return 0


def cmd_export(args) -> int:
    from model.review import ReviewStore
    from model.review.export import export

    result = export(ReviewStore(args.review_db), args.labels, args.out)
    print(f"{result.answers} reviewed sentences: {result.written} written to {result.path}, "
          f"{len(result.skipped)} skipped")
    for text, reason in result.skipped:
        print(f"  skipped: {text[:80]!r}: {reason}")
    return 0


def parse_budgets(value: str) -> list[int]:
    try:
        budgets = sorted({int(v) for v in value.split(",") if v.strip()})
    except ValueError as exc:
        raise SectagError(f"--budget {value!r}: expected numbers like 50,100,200") from exc
    if not budgets or budgets[0] <= 0:
        raise SectagError(f"--budget {value!r}: expected positive numbers like 50,100,200")
    return budgets


def cmd_simulate(args) -> int:
    from model.labels import load_labels as load, read_labelled_file
    from model.review.simulate import render_plot, render_table, simulate

    labels = load(args.labels, seeds_dir=args.seeds_dir)
    held: list = []
    if args.hold_out_files:
        labels, held = labels.hold_out(args.hold_out_files)
    if args.hold_out_matching:
        labels, matched = labels.hold_out_matching(args.hold_out_matching)
        held += matched
    pool = held + (read_labelled_file(args.pool, labels.topic_names) if args.pool else [])
    if not pool:
        raise SectagError("nothing to simulate on: give --pool, --hold-out-files, "
                          "--hold-out-matching, or several")
    from model.train import DEFAULT_REVIEW_WEIGHT

    weight = DEFAULT_REVIEW_WEIGHT if args.review_weight is None else args.review_weight
    if not weight > 0:
        raise SectagError(f"--review-weight {weight}: expected a positive number")
    evaluations = ("rest", "half") if args.eval == "both" else (args.eval,)
    result = simulate(labels, pool, parse_budgets(args.budget), args.seeds, n_jobs=args.jobs,
                      evaluations=evaluations, review_weight=weight,
                      progress=progress("simulation fit"))
    result["pool"] = str(args.pool) if args.pool else None
    result["held_out_files"] = list(args.hold_out_files or [])
    result["held_out_matching"] = args.hold_out_matching
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "simulation.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    (args.out / "simulation.png").write_bytes(render_plot(result))
    print(render_table(result))
    print(f"{result['seconds']:.0f}s; wrote {args.out}/simulation.json and simulation.png")
    return 0


def register(sub) -> None:
    review = sub.add_parser("review", help="the review loop: queue, export, simulate")
    actions = review.add_subparsers(dest="action", required=True)

    p = actions.add_parser("queue", help="queue a news file's most informative sentences")
    add_common(p)
    add_review_db(p)
    p.add_argument("input", type=Path, help="articles or sentences (.csv, .jsonl, .parquet)")
    p.add_argument("--limit", type=int, default=200, help="sentences to queue (default: 200)")
    p.add_argument("--format", choices=["csv", "jsonl", "parquet"], help="input format")
    p.add_argument("--unit", choices=["sentence", "article"], default="sentence",
                   help="each row is one sentence, or an article to split into sentences")
    p.add_argument("--id-column", default="id")
    p.add_argument("--text-column", default="text")
    p.add_argument("--source-column", help="a title or URL column kept as each sentence's "
                                           "source")
    p.add_argument("--max-chars", type=int, default=100_000, help="longest text accepted")
    p.add_argument("--version", help="model version (default: current)")
    p.add_argument("--show", type=int, default=10, help="picks to print (default: 10)")
    p.set_defaults(func=cmd_queue)

    p = actions.add_parser("export", help="write the answers as labels/sentences/reviewed.csv")
    add_common(p)
    add_review_db(p)
    p.add_argument("--out", type=Path, help="label file to write (default: "
                                            "<labels>/sentences/reviewed.csv)")
    p.set_defaults(func=cmd_export)

    p = actions.add_parser("simulate", help="learning curves: queue picks vs random picks")
    # --seeds is the number of random splits here, so the seed folder is --seeds-dir.
    path_option(p, "labels", "SECTAG_LABELS", "labels", "label folder")
    path_option(p, "seeds-dir", "SECTAG_SEEDS", "seeds", "seed article folder")
    p.add_argument("--pool", type=Path,
                   help="a labelled CSV standing in for unlabelled news")
    p.add_argument("--hold-out-files", nargs="+", metavar="FILE",
                   help="sentence files of the label folder left out of training and added "
                        "to the pool: a stream the starting model has not seen (drift)")
    p.add_argument("--hold-out-matching", metavar="REGEX",
                   help="also hold out every labelled sentence whose text matches REGEX "
                        "(case-insensitive), e.g. 'embass|consulat' for a topic's register")
    p.add_argument("--budget", default="50,100,200", help="sentences reviewed per point")
    p.add_argument("--seeds", type=int, default=5, help="random splits of the pool (default: 5)")
    p.add_argument("--eval", choices=["rest", "half", "both"], default="rest",
                   help="score on the pool minus the picks (rest, default), on a fixed half "
                        "the picks never come from (half), or both")
    p.add_argument("--review-weight", type=float, metavar="W",
                   help="sample weight of the picked rows, as `sectag train` gives reviewed "
                        "rows (default: 3)")
    p.add_argument("--out", type=Path, default=Path("reports") / "simulation")
    p.add_argument("--jobs", type=int, default=-1, help="processes (default: one per core)")
    p.set_defaults(func=cmd_simulate)

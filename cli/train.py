"""`sectag train`: grouped CV, thresholds, the final fit, a new registry version."""

from __future__ import annotations

import json

from model.errors import SectagError

from .common import add_common, load_labels, open_registry, progress


def parse_params(pairs: list[str]) -> dict:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SectagError(f"--param {pair!r}: expected NAME=VALUE (e.g. clf__C=2.0)")
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


def cmd_train(args) -> int:
    from model.train import pipeline_params, train

    weight = args.review_weight
    if weight is not None and not weight > 0:
        raise SectagError(f"--review-weight {weight}: expected a positive number "
                          "(1 weighs reviewed rows like any other)")
    labels = load_labels(args)
    trained = train(labels, params=pipeline_params(parse_params(args.param)), seed=args.seed,
                    progress=progress("cross-validation fold"), n_jobs=args.jobs,
                    review_weight=weight)
    registry = open_registry(args)
    version = registry.add(trained.pipeline, trained.manifest, promote=args.promote)
    cv = trained.manifest["cv"]
    print(f"trained {version} on {len(labels.rows)} rows in "
          f"{trained.manifest['training_seconds']:.1f}s; grouped-CV macro-F1 "
          f"{cv['macro_f1']:.3f}" + ("; promoted to current" if args.promote else ""))
    for run in trained.manifest["review_weight_cv"] or []:
        print(f"  review weight {run['weight']:g}: CV macro-F1 on reviewed rows "
              f"{run['reviewed_macro_f1']:.3f}, all rows {run['macro_f1']:.3f}"
              + ("  (chosen)" if run["weight"] == trained.manifest["review_weight"] else ""))
    for topic, m in cv["per_topic"].items():
        print(f"  {topic:20s} F1 {m['f1']:.3f}  P {m['precision']:.3f}  R {m['recall']:.3f}"
              f"  threshold {trained.manifest['thresholds'][topic]:.2f}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("train", help="train a new model version from labels/")
    add_common(p)
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--promote", action="store_true", help="make the new version current")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="pipeline parameter, e.g. clf__C=2.0 (repeatable)")
    p.add_argument("--review-weight", type=float, metavar="W",
                   help="sample weight of reviewed rows (source `review`) in every fit, CV "
                        "folds included (default: chosen by grouped CV among 1, 3 and 10 "
                        "when rows are reviewed; stored in the manifest)")
    p.add_argument("--jobs", type=int, default=-1,
                   help="processes fitting the folds and the final model (default: one "
                        "per core; the result is the same for any value)")
    p.set_defaults(func=cmd_train)

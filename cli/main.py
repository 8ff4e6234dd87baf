"""`sectag`: one entry point, a subcommand per task; each parses, calls, prints a summary."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from model.errors import SectagError


def _path_option(parser, name: str, env: str, default: str, help_text: str) -> None:
    parser.add_argument(f"--{name}", type=Path, default=Path(os.environ.get(env, default)),
                        help=f"{help_text} (env {env}, default: %(default)s)")


def _common(parser) -> None:
    _path_option(parser, "labels", "SECTAG_LABELS", "labels", "label folder")
    _path_option(parser, "seeds", "SECTAG_SEEDS", "seeds", "seed article folder")
    _path_option(parser, "registry", "SECTAG_REGISTRY", "registry", "model registry folder")


def _load_labels(args):
    from model.labels import load_labels

    return load_labels(args.labels, seeds_dir=args.seeds)


# -- labels ----------------------------------------------------------------------------
def cmd_labels_check(args) -> int:
    labels = _load_labels(args)
    print(f"ok: {len(labels.rows)} rows in {len(labels.files)} files, "
          f"{len(labels.topics)} topics, no problems")
    return 0


def cmd_labels_stats(args) -> int:
    from model.corpus import corpus_counts

    print(json.dumps(corpus_counts(_load_labels(args)), indent=2))
    return 0


# -- training and models ---------------------------------------------------------------
def _parse_params(pairs: list[str]) -> dict:
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
    from model.registry import Registry
    from model.train import pipeline_params, train

    labels = _load_labels(args)

    trained = train(labels, params=pipeline_params(_parse_params(args.param)), seed=args.seed,
                    progress=_progress("cross-validation fold"), n_jobs=args.jobs)
    registry = Registry(args.registry)
    version = registry.add(trained.pipeline, trained.manifest, promote=args.promote)
    cv = trained.manifest["cv"]
    print(f"trained {version} on {len(labels.rows)} rows in "
          f"{trained.manifest['training_seconds']:.1f}s; grouped-CV macro-F1 "
          f"{cv['macro_f1']:.3f}" + ("; promoted to current" if args.promote else ""))
    for topic, m in cv["per_topic"].items():
        print(f"  {topic:20s} F1 {m['f1']:.3f}  P {m['precision']:.3f}  R {m['recall']:.3f}"
              f"  threshold {trained.manifest['thresholds'][topic]:.2f}")
    return 0


def cmd_models_list(args) -> int:
    from model.registry import Registry

    registry = Registry(args.registry)
    current = registry.current()
    versions = registry.versions()
    if not versions:
        print(f"no versions in {args.registry}")
    for version in versions:
        m = registry.manifest(version)
        mark = "*" if version == current else " "
        print(f"{mark} {version:6s} {m.get('created', '?'):25s} rows {m['counts']['rows']:5d}  "
              f"macro-F1 {m['cv']['macro_f1']:.3f}  data {m['data_sha256'][:12]}")
    return 0


def cmd_models_show(args) -> int:
    from model.registry import Registry

    print(json.dumps(Registry(args.registry).manifest(args.version), indent=2))
    return 0


def cmd_models_promote(args) -> int:
    from model.registry import Registry

    print(f"current is now {Registry(args.registry).promote(args.version)}")
    return 0


def cmd_models_rollback(args) -> int:
    from model.registry import Registry

    print(f"rolled back; current is now {Registry(args.registry).rollback()}")
    return 0


# -- prediction ------------------------------------------------------------------------
def _read_lines(path: Path) -> list[str]:
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
    from model.registry import Registry
    from model.tagger import Tagger

    texts = list(args.text) + (_read_lines(args.file) if args.file else [])
    if not texts:
        raise SectagError("give a sentence to tag, or --file F with one sentence a line")
    tagger = Tagger.from_registry(Registry(args.registry), args.version)
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


def _progress(label: str):
    """One line redrawn in place on a terminal; a line per step in a log file."""
    redraw = sys.stderr.isatty()

    def report(done: int, total: int) -> None:
        if redraw:
            print(f"\r{label} {done}/{total}", end="" if done < total else "\n",
                  file=sys.stderr, flush=True)
        else:
            print(f"{label} {done}/{total}", file=sys.stderr, flush=True)
    return report


def cmd_evaluate(args) -> int:
    from model.evaluate import evaluate
    from model.registry import Registry
    from model.report import write_report

    registry = Registry(args.registry)
    result = evaluate(_load_labels(args), registry, version=args.version, against=args.against,
                      test_file=args.test, progress=_progress("cross-validation fold"))
    out = args.out or Path("reports") / result["model_version"]
    write_report(result, out)
    rows = [("all rows", result["cv"]["all"]), ("seed rows", result["cv"]["seed"])]
    if result["test"]:
        rows.append(("test file", result["test"]))
    print(f"model {result['model_version']}: macro-F1 (model / keywords / majority)")
    for name, block in rows:
        print(f"  {name:10s} {block['model']['macro_f1']:.3f} / "
              f"{block['keywords']['macro_f1']:.3f} / {block['majority']['macro_f1']:.3f}"
              f"  ({block['rows']} rows)")
    if result["comparison"]:
        c = result["comparison"]
        print(f"  against {c['old']}: {len(c['changed'])} sentences changed tags")
    print(f"wrote {out}/report.html, report.md, metrics.json")
    return 0


def cmd_batch(args) -> int:
    from model.batch import BatchJob, run_local
    from model.batch_io import Columns, detect_format
    from model.registry import Registry
    from model.tagger import Tagger

    try:
        job = BatchJob(str(args.input), str(args.output), detect_format(str(args.input),
                                                                         args.format),
                       detect_format(str(args.output), args.output_format), unit=args.unit,
                       columns=Columns(args.id_column, args.text_column, args.max_chars),
                       chunk_size=args.chunk_size)
    except ValueError as exc:
        raise SectagError(str(exc)) from exc
    registry = Registry(args.registry)
    try:
        if args.engine == "dask":
            from model.batch_dask import run_dask

            version = args.version or registry.require_current()
            summary = run_dask(job, registry, version, scheduler=args.scheduler,
                               workers=args.workers, resume=args.resume, force=args.force,
                               quiet=args.quiet)
        else:
            summary = run_local(job, Tagger.from_registry(registry, args.version),
                                resume=args.resume, force=args.force, quiet=args.quiet)
    except (ValueError, OSError) as exc:
        raise SectagError(f"batch failed: {exc}") from exc
    print(f"{summary['input_rows']} input rows: {summary['tagged']} tagged -> {job.output}, "
          f"{summary['errors']} refused -> {summary['errors_file']} "
          f"(model {summary['model_version']})")
    return 0


def cmd_serve(args) -> int:
    import logging
    import tempfile

    # prometheus_client picks its storage when first imported: workers must share files.
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="sectag-prom-"))
    from service.server import serve

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    serve({"REGISTRY": str(args.registry)}, host=args.host, port=args.port,
          workers=args.workers, threads=args.threads)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sectag", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    labels = sub.add_parser("labels", help="check the label files")
    labels_sub = labels.add_subparsers(dest="action", required=True)
    for name, func, text in [("check", cmd_labels_check, "validate every label file"),
                             ("stats", cmd_labels_stats, "corpus counts as JSON")]:
        p = labels_sub.add_parser(name, help=text)
        _common(p)
        p.set_defaults(func=func)

    p = sub.add_parser("train", help="train a new model version from labels/")
    _common(p)
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--promote", action="store_true", help="make the new version current")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="pipeline parameter, e.g. clf__C=2.0 (repeatable)")
    p.add_argument("--jobs", type=int, default=-1,
                   help="processes fitting the folds and the final model (default: one "
                        "per core; the result is the same for any value)")
    p.set_defaults(func=cmd_train)

    models = sub.add_parser("models", help="list and switch model versions")
    models_sub = models.add_subparsers(dest="action", required=True)
    for name, func, text, takes_version in [
            ("list", cmd_models_list, "list versions (* marks current)", False),
            ("show", cmd_models_show, "print a version's manifest", True),
            ("promote", cmd_models_promote, "make a version current", True),
            ("rollback", cmd_models_rollback, "return to the previously current version",
             False)]:
        p = models_sub.add_parser(name, help=text)
        _common(p)
        if takes_version:
            p.add_argument("version", nargs="?" if name == "show" else None,
                           help="version, e.g. v3" + (" (default: current)"
                                                       if name == "show" else ""))
        p.set_defaults(func=func)

    p = sub.add_parser("predict", help="tag sentences with the current (or a given) model")
    _common(p)
    p.add_argument("text", nargs="*", help="sentences to tag")
    p.add_argument("--file", type=Path, help="a UTF-8 file with one sentence a line")
    p.add_argument("--version", help="model version (default: current)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("evaluate", help="write the evaluation report for a model version")
    _common(p)
    p.add_argument("--version", help="model version (default: current)")
    p.add_argument("--against", help="version to compare with (default: the previous one)")
    p.add_argument("--test", type=Path, help="external labelled CSV, evaluated without training")
    p.add_argument("--out", type=Path, help="output folder (default: reports/<version>)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("batch", help="tag a CSV, JSONL or Parquet file into another")
    _common(p)
    p.add_argument("input", type=Path, help="input file (.csv, .jsonl, .parquet)")
    p.add_argument("output", type=Path, help="output file (.csv, .jsonl, .parquet)")
    p.add_argument("--format", choices=["csv", "jsonl", "parquet"], help="input format")
    p.add_argument("--output-format", choices=["csv", "jsonl", "parquet"])
    p.add_argument("--unit", choices=["sentence", "article"], default="sentence",
                   help="tag each row as one sentence, or split it as an article")
    p.add_argument("--id-column", default="id")
    p.add_argument("--text-column", default="text")
    p.add_argument("--max-chars", type=int, default=100_000, help="longest text accepted")
    p.add_argument("--chunk-size", type=int, default=5000, help="rows per chunk (memory bound)")
    p.add_argument("--version", help="model version (default: current)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run")
    p.add_argument("--force", action="store_true", help="replace an existing output")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--engine", choices=["local", "dask"], default="local")
    p.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--workers", type=int, default=2, help="local Dask workers (default: 2)")
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser("serve", help="serve the HTTP API and web page with granian")
    _common(p)
    p.add_argument("--host", default="127.0.0.1", help="address (default: %(default)s)")
    p.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default: 2)")
    p.add_argument("--threads", type=int, default=4,
                   help="request threads per worker (default: %(default)s)")
    p.set_defaults(func=cmd_serve)

    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SectagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

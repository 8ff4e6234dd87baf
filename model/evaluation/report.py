"""Render an evaluation (the dict from `evaluate()`) as report.html, report.md and metrics.json."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from . import plots

SYSTEMS = ("model", "keywords", "majority")


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.3f}"


def summary_rows(block: dict, topics: list[str]) -> list[list[str]]:
    """Table rows: one per topic and system, then the overall figures."""
    rows = []
    for topic in topics:
        for system in SYSTEMS:
            m = block[system]["per_topic"][topic]
            rows.append([topic, system, str(m["support"]), _fmt(m["precision"]),
                         _fmt(m["recall"]), _fmt(m["f1"]), _fmt(m.get("average_precision"))])
    return rows


SUMMARY_HEADER = ["topic", "system", "support", "precision", "recall", "F1", "AP"]
OVERALL_HEADER = ["rows", "system", "macro-F1", "micro-F1", "subset accuracy", "Hamming loss"]


def overall_rows(block: dict) -> list[list[str]]:
    return [[str(block["rows"]), s, _fmt(block[s]["macro_f1"]), _fmt(block[s]["micro_f1"]),
             _fmt(block[s]["subset_accuracy"]), _fmt(block[s]["hamming_loss"])]
            for s in SYSTEMS]


def reviewed_line(report: dict) -> str:
    """How many reviewed rows (source `review`) the model saw and the labels now hold."""
    saw = report.get("model_review_rows")
    block = report["cv"].get("review")
    held = (f"the labels hold {block['rows']}, scored out of fold below" if block
            else "the labels hold none")
    return (f"reviewed rows (source review): the model saw "
            f"{'an unrecorded number' if saw is None else saw}; {held}")


def _sections(report: dict) -> list[tuple[str, dict]]:
    """(title, metrics block) for every set of rows the report covers."""
    out = [("All labelled rows (grouped cross-validation)", report["cv"]["all"]),
           ("Real seed sentences only (held out by article)", report["cv"]["seed"])]
    if report["cv"].get("review"):
        out.append(("Reviewed rows (source review, grouped CV: held out by group)",
                    report["cv"]["review"]))
    if report.get("test"):
        out.append((f"External test file {report['test']['file']} (model not retrained)",
                    report["test"]))
    return out


ARTICLE_HEADER = ["topic", "system", "support", "precision", "recall", "F1"]
ARTICLE_OVERALL_HEADER = ["articles", "system", "macro-F1", "micro-F1", "articles wrong"]
ARTICLE_SYSTEMS = (("any_sentence", "model, any sentence"), ("article_rule", "model, article rule"),
                   ("keywords", "keywords, any sentence"))


def _article_sections(report: dict) -> list[tuple[str, dict]]:
    """(title, article block) for the labelled articles of the CV and of the test file."""
    out = []
    if report["cv"].get("articles"):
        out.append(("Articles: labelled articles in the training data (grouped CV)",
                    report["cv"]["articles"]))
    if report.get("test") and report["test"].get("articles"):
        out.append((f"Articles: {report['test']['file']} (model not retrained)",
                    report["test"]["articles"]))
    return out


def article_rows(block: dict, topics: list[str]) -> tuple[list[list[str]], list[list[str]]]:
    """(overall rows, per-topic rows) of an article block."""
    overall = [[str(block["articles"]), label, _fmt(block[key]["macro_f1"]),
                _fmt(block[key]["micro_f1"]), str(block[key]["articles_wrong"])]
               for key, label in ARTICLE_SYSTEMS]
    per_topic = []
    for topic in topics:
        for key, label in ARTICLE_SYSTEMS:
            m = block[key]["per_topic"][topic]
            per_topic.append([topic, label, str(m["support"]), _fmt(m["precision"]),
                              _fmt(m["recall"]), _fmt(m["f1"])])
    return overall, per_topic


ACTOR_HEADER = ["data", "sentences", "true actors", "precision", "recall", "F1",
                "sentences wrong", "articles", "partner exact match"]


def actor_rows(report: dict) -> list[list[str]]:
    """One row per labelled data set (training labels, test file) with actor figures."""
    rows = []
    for name, block in (report.get("actors") or {}).items():
        if not block:
            continue
        s, p = block["sentences"] or {}, block["partners"] or {}
        rows.append([name, str(s.get("sentences", "–")), str(s.get("true_actors", "–")),
                     _fmt(s.get("precision")), _fmt(s.get("recall")), _fmt(s.get("f1")),
                     str(s.get("sentences_wrong", "–")), str(p.get("articles", "–")),
                     _fmt(p.get("exact_match"))])
    return rows


def actor_misses(report: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) for the sentences and articles whose actors were wrong."""
    out = []
    for name, block in (report.get("actors") or {}).items():
        if block and block["sentences"]:
            out.append((f"Actor errors ({name}, first {len(block['sentences']['wrong'])})",
                        ["id", "sentence", "true", "found"],
                        [[w["id"], w["text"], ";".join(w["true"]), ";".join(w["found"])]
                         for w in block["sentences"]["wrong"]]))
        if block and block["partners"]:
            out.append((f"Partner errors ({name})", ["article", "true", "found (ranked)"],
                        [[w["article"], ";".join(w["true"]), ";".join(w["found"])]
                         for w in block["partners"]["wrong"]]))
    return out


ACTORS_NOTE = ("Actors are found by rule (model/actors.py), so training and test figures "
               "are not cross-validated; the partner rule was tuned on the training articles.")


def _error_sections(report: dict) -> list[tuple[str, dict]]:
    """(where, errors per topic): the cross-validation's, then the test file's if any."""
    out = [("cross-validation", report["cv"]["errors"])]
    if report.get("test"):
        out.append((f"test file {report['test']['file']}", report["test"]["errors"]))
    return out


ERROR_COLUMNS = ["score", "sentence", "terms", "true topics"]


def _error_cells(entries: list[dict]) -> list[list[str]]:
    return [[f"{e['score']:.3f}", e["text"], ", ".join(e["terms"]),
             ", ".join(e["true_topics"]) or "none"] for e in entries]


def _error_rows(errors: dict, limit: int) -> list[tuple[str, str, list]]:
    out = []
    for topic, kinds in errors.items():
        for kind in ("false_positives", "false_negatives"):
            out.append((topic, kind.replace("_", " "), kinds[kind][:limit]))
    return out


# -- Markdown ---------------------------------------------------------------------------
def _md_table(header: list[str], rows: list[list[str]]) -> str:
    def esc(cell: str) -> str:
        return str(cell).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(report: dict, *, errors_per_topic: int = 10) -> str:
    topics = report["topics"]
    parts = [f"# Evaluation of model {report['model_version']}", "",
             f"- data sha256: `{report['data_sha256']}` (model trained on "
             f"`{report['model_data_sha256']}`)",
             f"- cross-validation: {report['cv']['folds']} folds over {report['cv']['groups']} "
             f"groups. {report['grouping']}.",
             "- thresholds: " + ", ".join(f"{t} {c:.2f}" for t, c in report["thresholds"].items()),
             f"- {reviewed_line(report)}",
             ""]
    for title, block in _sections(report):
        parts += [f"## {title}", "", _md_table(OVERALL_HEADER, overall_rows(block)), "",
                  _md_table(SUMMARY_HEADER, summary_rows(block, topics)), ""]
    for title, block in _article_sections(report):
        overall, per_topic = article_rows(block, topics)
        parts += [f"## {title}", "", _md_table(ARTICLE_OVERALL_HEADER, overall), "",
                  _md_table(ARTICLE_HEADER, per_topic), ""]
    if actor_rows(report):
        parts += ["## Actors and partners", "", ACTORS_NOTE, "",
                  _md_table(ACTOR_HEADER, actor_rows(report)), ""]
        for title, header, rows in actor_misses(report):
            parts += [f"### {title}", "", _md_table(header, rows) if rows else "none", ""]
    comparison = report.get("comparison")
    if comparison:
        parts += _md_comparison(comparison)
    for where, errors in _error_sections(report):
        parts += [f"## Errors ({where}, worst {errors_per_topic} per list)", ""]
        for topic, kind, entries in _error_rows(errors, errors_per_topic):
            parts += [f"### {topic}: {kind}", ""]
            parts += [_md_table(ERROR_COLUMNS, _error_cells(entries)) if entries else "none",
                      ""]
    return "\n".join(parts) + "\n"


def _md_comparison(comparison: dict) -> list[str]:
    new, old = comparison["new"], comparison["old"]
    keys = sorted({k for v in comparison["per_topic"].values() for k in v})
    rows = [[t] + [_fmt(v.get(k)) for k in keys] for t, v in comparison["per_topic"].items()]
    rows.append(["macro"] + [_fmt(comparison["macro_f1"].get(k.replace("_f1", "")))
                             for k in keys])
    changed = comparison["changed"]
    out = [f"## {new} against {old}", "", _md_table(["topic", *keys], rows), "",
           f"{len(changed)} sentences changed tags.", ""]
    if changed:
        out += [_md_table(["id", "sentence", old, new, "true"],
                          [[c["id"], c["text"], ", ".join(c["old"]) or "none",
                            ", ".join(c["new"]) or "none", ", ".join(c["true"]) or "none"]
                           for c in changed]), ""]
    return out


# -- HTML -------------------------------------------------------------------------------
def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


STYLE = """body{font-family:system-ui,sans-serif;max-width:72rem;margin:auto;padding:1rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.85rem}th,td{border:1px solid #ccc;
padding:.2rem .45rem;text-align:left;vertical-align:top}th{background:#f0f3f8}
.figs{display:flex;flex-wrap:wrap;gap:1rem}img{max-width:100%}details{margin:.4rem 0}"""


def render_html(report: dict, figures: dict[str, bytes]) -> str:
    topics = report["topics"]
    parts = [f"<h1>Evaluation of model {html.escape(report['model_version'])}</h1>",
               f"<p>Data sha256 <code>{report['data_sha256']}</code>; cross-validation "
               f"{report['cv']['folds']} folds over {report['cv']['groups']} groups. "
               f"{html.escape(report['grouping'])}.</p>",
               f"<p>{html.escape(reviewed_line(report))}</p>",
               '<div class="figs">' + "".join(_img(png, name) for name, png in figures.items())
               + "</div>"]
    for title, block in _sections(report):
        parts += [f"<h2>{html.escape(title)}</h2>", _html_table(OVERALL_HEADER,
                                                                  overall_rows(block)),
                    _html_table(SUMMARY_HEADER, summary_rows(block, topics))]
    for title, block in _article_sections(report):
        overall, per_topic = article_rows(block, topics)
        parts += [f"<h2>{html.escape(title)}</h2>", _html_table(ARTICLE_OVERALL_HEADER, overall),
                  _html_table(ARTICLE_HEADER, per_topic)]
    if actor_rows(report):
        parts += ["<h2>Actors and partners</h2>", f"<p>{html.escape(ACTORS_NOTE)}</p>",
                  _html_table(ACTOR_HEADER, actor_rows(report))]
        for title, header, rows in actor_misses(report):
            parts.append(f"<details><summary>{html.escape(title)}</summary>"
                         f"{_html_table(header, rows)}</details>")
    comparison = report.get("comparison")
    if comparison:
        keys = sorted({k for v in comparison["per_topic"].values() for k in v})
        rows = [[t] + [_fmt(v.get(k)) for k in keys]
                for t, v in comparison["per_topic"].items()]
        parts += [f"<h2>{comparison['new']} against {comparison['old']}</h2>",
                    _html_table(["topic", *keys], rows),
                    f"<p>{len(comparison['changed'])} sentences changed tags.</p>",
                    _html_table(["id", "sentence", comparison["old"], comparison["new"], "true"],
                                [[c["id"], c["text"], ", ".join(c["old"]) or "none",
                                  ", ".join(c["new"]) or "none", ", ".join(c["true"]) or "none"]
                                 for c in comparison["changed"]])]
    for where, errors in _error_sections(report):
        parts.append(f"<h2>Errors ({html.escape(where)}, worst first)</h2>")
        for topic, kind, entries in _error_rows(errors, 25):
            table = _html_table(ERROR_COLUMNS, _error_cells(entries))
            parts.append(f"<details><summary>{html.escape(topic)}: {kind} ({len(entries)} "
                         f"shown)</summary>{table}</details>")
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>sectag "
            f"evaluation {html.escape(report['model_version'])}</title><style>{STYLE}</style>"
            "</head><body>" + "\n".join(parts) + "</body></html>\n")


def figures(report: dict) -> dict[str, bytes]:
    topics = report["topics"]
    cv = report["cv"]
    out = {"pr_curves.png": plots.pr_curves(cv["curves"], "Precision-recall (grouped CV)"),
           "f1_by_topic.png": plots.f1_bars(cv["all"], topics, "F1 per topic, grouped CV"),
           "cooccurrence.png": plots.cooccurrence(cv["cooccurrence"], topics,
                                                  "True vs predicted topics (CV)")}
    if report.get("test"):
        out["f1_test.png"] = plots.f1_bars(report["test"], topics, "F1 per topic, test file")
    return out


def write_report(report: dict, out_dir: str | Path) -> list[Path]:
    """Write report.html (self-contained), report.md, metrics.json and the PNG figures."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pngs = figures(report)
    written = []
    for name, png in pngs.items():
        (out_dir / name).write_bytes(png)
        written.append(out_dir / name)
    files = {"report.html": render_html(report, pngs), "report.md": render_markdown(report),
             "metrics.json": json.dumps(report, indent=2, sort_keys=True)}
    for name, text in files.items():
        (out_dir / name).write_text(text, encoding="utf-8")
        written.append(out_dir / name)
    return written

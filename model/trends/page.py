"""The trends page: a self-contained HTML file (figures embedded as PNG, no network)."""

from __future__ import annotations

import base64
import html

from . import figures

FIGURES = (("lines", "Topics over time"), ("pairs", "Top partner pairs per topic"),
           ("heat", "Topic x partner country"))


def page_data(tables: dict, summary: dict) -> dict:
    """Everything the page shows, as plain data (computed once, rendered separately)."""
    by = summary["by"]
    return {"summary": summary, "lines": figures.topic_lines(tables["topics"], by),
            "pairs": figures.top_pairs(tables["pairs"]),
            "heat": figures.heat_map(tables["partners"])}


def render_html(data: dict) -> str:
    pngs = {"lines": figures.lines_png(data["lines"], data["summary"]["by"]),
            "pairs": figures.pairs_png(data["pairs"]), "heat": figures.heat_png(data["heat"])}
    rows = "".join(f"<tr><th>{html.escape(k.replace('_', ' '))}</th>"
                   f"<td>{html.escape('none' if v is None else str(v))}</td></tr>"
                   for k, v in data["summary"].items())
    sections = "".join(
        f'<section><h2>{title}</h2><img id="fig-{key}" alt="{title}" '
        f'src="data:image/png;base64,{base64.b64encode(pngs[key]).decode()}"></section>'
        for key, title in FIGURES)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sectag trends</title>
<style>body{{font-family:system-ui,sans-serif;max-width:70rem;margin:0 auto;padding:1rem;
color:#1d1d1f}}table{{border-collapse:collapse}}th,td{{text-align:left;padding:.15rem .8rem
.15rem 0;border-bottom:1px solid #ddd}}img{{max-width:100%}}</style></head>
<body><h1>Trends</h1><table id="summary">{rows}</table>{sections}</body></html>
"""

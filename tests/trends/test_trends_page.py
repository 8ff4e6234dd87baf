"""trends.html in a real headless Chromium: every figure loads, nothing leaves the page."""

from __future__ import annotations

from conftest import needs_chromium
from model.trends import Options, run_trends
from test_trends import ARTICLES, write_batch_output

pytestmark = needs_chromium


def test_trends_page_shows_its_figures_offline(tmp_path, browser_page):
    path = write_batch_output(tmp_path / "in.parquet", ARTICLES * 3, "parquet")
    run_trends(str(path), str(tmp_path / "out"), Options(by="week"), quiet=True)
    page = browser_page
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.set_viewport_size({"width": 1200, "height": 900})
    page.goto((tmp_path / "out" / "trends.html").as_uri())
    page.wait_for_load_state("load")
    for figure in ("lines", "pairs", "heat"):
        width = page.eval_on_selector(f"#fig-{figure}", "img => img.complete && img.naturalWidth")
        assert width and width > 100, f"figure {figure} did not load"
    assert "rows with errors" in page.inner_text("#summary")
    left = [u for u in requests if not u.startswith(("file://", "data:"))]
    assert not left, f"the page made network requests: {left}"
    page.screenshot(path=str(tmp_path / "trends.png"), full_page=True)

"""The HTML report in headless Chromium: it renders, every figure's image decodes, every table
column is named in words and has values, the console is silent (the figures' panels are checked
in test_report.py, on the matplotlib figures themselves).

A harness page loads the report in an iframe and writes what it finds into its own DOM, which
``--dump-dom`` prints; Chromium prints console messages on stderr (``--enable-logging=stderr``).
A screenshot of the report is kept in ``test-artifacts/`` for people to look at.
"""
from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from fake_runs import showcase_run
from optbench.report import write_report

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed "
                                "(scripts/system-deps.sh installs it with apt-get)")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
FIGURE_IDS = ["fig-convergence", "fig-kappa", "fig-performance-profile", "fig-data-profile", "fig-throughput",
              "fig-bandwidth", "fig-jacobian"]  # the report's order: optimize's figures, then throughput's

HARNESS = """<!DOCTYPE html><html><body><pre id="result">the report's load event never came</pre>
<iframe id="report" src="{src}" width="1280" height="2000"></iframe>
<script>
document.getElementById("report").addEventListener("load", function () {{
  var doc = this.contentDocument;
  var figures = Array.prototype.map.call(doc.querySelectorAll("figure"), function (figure) {{
    var img = figure.querySelector("img");
    return {{id: figure.id, width: img && img.complete ? img.naturalWidth : 0}};
  }});
  var tables = Array.prototype.map.call(doc.querySelectorAll("table"), function (table) {{
    var headers = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {{ return th.textContent; }});
    var filled = headers.map(function (_, i) {{
      return Array.prototype.some.call(table.querySelectorAll("tbody tr"), function (tr) {{
        return tr.children[i] && tr.children[i].textContent.trim() !== "";
      }});
    }});
    return {{id: table.id, headers: headers, filled: filled}};
  }});
  document.getElementById("result").textContent = JSON.stringify({{title: doc.title, figures: figures,
                                                                   tables: tables}});
}});
</script></body></html>
"""


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run", "--allow-file-access-from-files",
               f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def inspect(page: Path, tmp_path: Path) -> tuple[dict, list[str]]:
    """What the harness saw in ``page`` (title, figures and their image widths) and the console lines."""
    harness = page.with_name(f"harness-{page.stem}.html")
    harness.write_text(HARNESS.format(src=page.name))
    done = chromium(tmp_path, "--dump-dom", harness.as_uri())
    found = re.search(r'<pre id="result">(.*?)</pre>', done.stdout, re.DOTALL)
    assert found, f"no harness result in Chromium's DOM dump:\n{done.stdout[:2000]}\n{done.stderr[-2000:]}"
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    return json.loads(html.unescape(found.group(1))), console


def test_the_report_renders_every_figure_with_a_silent_console(tmp_path):
    showcase_run(tmp_path)
    page = write_report(tmp_path, "showcase", "html", dest=tmp_path / "report.html")[0]
    seen, console = inspect(page, tmp_path)
    assert console == []
    assert seen["title"].startswith("optbench report: showcase <script>")  # escaped in the source, text here
    assert [f["id"] for f in seen["figures"]] == FIGURE_IDS
    assert all(f["width"] > 300 for f in seen["figures"]), seen["figures"]
    for table in seen["tables"]:  # every column is named in words and has a value somewhere
        assert all(table["filled"]), table
        assert not any("_" in header for header in table["headers"]), table
    assert len(seen["tables"]) == 6
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "report.png"
    screenshot.unlink(missing_ok=True)
    chromium(tmp_path, "--hide-scrollbars", "--window-size=1280,2400", f"--screenshot={screenshot}", page.as_uri())
    assert screenshot.read_bytes().startswith(b"\x89PNG") and screenshot.stat().st_size > 50_000
    shutil.copy(page, ARTIFACTS / "report.html")


def test_the_check_sees_broken_figures_and_console_messages(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html><head><title>broken</title></head><body>'
                    '<figure id="fig-x"><img src="data:image/png;base64,AAAA"></figure>'
                    '<script>console.error("boom")</script></body></html>')
    seen, console = inspect(page, tmp_path)
    assert seen["figures"] == [{"id": "fig-x", "width": 0}]
    assert len(console) == 1 and "boom" in console[0]

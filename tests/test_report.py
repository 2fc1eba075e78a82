"""optbench report: sections and figure ids, escaping, Markdown and CSV outputs, tables(), budgets."""
from __future__ import annotations

import html
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import optbench.results
from fake_runs import HOSTILE, bandwidth_cell, optimize_cell, showcase_run, throughput_cell, write_run
from optbench import plots, report
from optbench.cli import main
from optbench.errors import OptbenchError
from optbench.report import tables, to_html, write_report

# grouped by task, in the order of optbench.tasks.TASKS: optimize, then throughput
FIGURE_IDS = ("fig-convergence", "fig-kappa", "fig-performance-profile", "fig-data-profile",
              "fig-throughput", "fig-bandwidth", "fig-jacobian")
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def showcase(tmp_path_factory):
    path = tmp_path_factory.mktemp("showcase")
    showcase_run(path)
    return path


@pytest.fixture(scope="module")
def page(showcase) -> str:
    return to_html(optbench.results.load(showcase, "showcase"))


def test_every_section_of_a_run_with_data_has_its_figure_and_table(page):
    for figure in FIGURE_IDS:
        assert f'<figure id="{figure}">' in page
    for table in ("table-status", "table-kappa_fit", "table-cost_ratio", "table-jacobian_crossover",
                  "table-failures", "table-environment"):
        assert f'id="{table}"' in page
    assert page.count('<img src="data:image/png;base64,') == len(FIGURE_IDS)


def test_the_page_is_self_contained(page):
    assert not re.search(r"<script|<link|@import|https?://", page, re.IGNORECASE)
    assert re.findall(r'src="([^"]{0,22})', page) == ["data:image/png;base64,"] * len(FIGURE_IDS)


def test_names_from_plugins_and_suite_files_are_escaped(page):
    escaped = html.escape(HOSTILE)
    assert "<script>" not in page and "<b>bad</b>" not in page
    assert f"optbench report: showcase {escaped}" in page  # the suite's name, in title and heading
    assert html.escape(HOSTILE, quote=False) in page.split('id="table-failures"')[1]  # the objective's name
    assert html.escape("ValueError: <b>bad</b>") in page


def test_sections_without_data_are_left_out(tmp_path):
    write_run(tmp_path, "one", [optimize_cell("quadratic", "gd")])
    page = to_html(optbench.results.load(tmp_path, "one"))
    assert '<figure id="fig-convergence">' in page
    for absent in FIGURE_IDS[1:] + ("table-failures",):
        assert absent not in page
    assert set(tables(optbench.results.load(tmp_path, "one"))) == {"status", "convergence", "environment"}


def test_a_throughput_run_without_its_bandwidth_probe_leaves_that_panel_out(tmp_path):
    write_run(tmp_path, "cut", [throughput_cell("sin_exp", n, measure, "torch") for n in (10, 100) for measure in
                                ("f", "grad")])  # stopped before the probe, the run's last cell
    page = to_html(optbench.results.load(tmp_path, "cut"))
    assert '<figure id="fig-throughput">' in page and "fig-bandwidth" not in page
    write_run(tmp_path, "probe", [bandwidth_cell(20.0)])  # --only 'bandwidth*'
    assert set(tables(optbench.results.load(tmp_path, "probe"))) == {"status", "environment"}


def test_the_kappa_table_lists_the_methods_with_a_fit_only(tmp_path):
    cells = [optimize_cell("quadratic", "gd", objective_params={"cond": kappa}, iterations=int(2 * kappa))
             for kappa in (10.0, 100.0)]
    cells += [optimize_cell("quadratic", "adam", objective_params={"cond": 100.0}),  # one kappa: nothing to fit
              optimize_cell("quadratic", "lbfgs", objective_params={"cond": 10.0}),
              optimize_cell("quadratic", "lbfgs", objective_params={"cond": 100.0}, status="max_iter")]
    write_run(tmp_path, "kappa", cells)
    found = tables(optbench.results.load(tmp_path, "kappa"))
    assert list(found["kappa_fit"]["optimizer"]) == ["gd"]
    assert set(found["kappa"]["optimizer"]) == {"gd", "adam", "lbfgs"}  # drawn, with "no fit" in the legend


def test_tables_are_the_data_behind_the_figures(showcase):
    found = tables(optbench.results.load(showcase, "showcase"))
    assert set(found) == {"status", "convergence", "kappa", "kappa_fit", "throughput", "cost_ratio", "bandwidth",
                          "jacobian", "jacobian_crossover", "performance_profile", "data_profile", "failures",
                          "environment"}
    assert all(isinstance(frame, pd.DataFrame) and len(frame) for frame in found.values())
    fits = found["kappa_fit"].set_index("optimizer")
    assert fits.loc["gd", "exponent"] == pytest.approx(1.0, abs=0.01)
    assert fits.loc["heavy_ball", "exponent"] == pytest.approx(0.5, abs=0.02)
    assert list(fits["theory"]) == [1.0, 0.5]
    throughput = found["throughput"]
    assert set(throughput["series"]) == {"torch cpu float64", "dual cpu float64"}  # the skipped cuda cell is not drawn
    assert set(found["failures"]["status"]) == {"crashed", "skipped"}
    assert found["cost_ratio"]["ratio"].to_list() == pytest.approx([3.0] * 6)
    assert found["jacobian_crossover"]["crossover_m"].to_list() == pytest.approx([16.0])
    assert found["bandwidth"]["probe_gbps"].unique().tolist() == [20.0]
    assert found["status"].set_index("status")["cells"].to_dict() == {"ok": 21, "converged": 8, "skipped": 1,
                                                                      "crashed": 1}


def drawn_figures(results, monkeypatch) -> dict:
    """The matplotlib figures of the report by section id, captured before they become PNG."""
    captured = []
    monkeypatch.setattr(plots, "png", lambda figure: captured.append(figure) or PNG)
    drawn = report.figures(tables(results), "iterations")
    return {section.id: figure for (section, _), figure in zip(drawn, captured, strict=True)}


def drawn_values(ax) -> np.ndarray:
    """Every y value that shows in ``ax``: finite, positive (a log axis shows nothing else), and
    a marker or the end of a line segment (a lone point of a line without markers is invisible)."""
    shown = []
    for line in ax.get_lines():
        ys = np.asarray(line.get_ydata(), dtype=float)
        ok = np.isfinite(ys) & (ys > 0) if ax.get_yscale() == "log" else np.isfinite(ys)
        if line.get_marker() in (None, "None", "", " "):
            ok = ok & (np.r_[False, ok[:-1]] | np.r_[ok[1:], False])  # a neighbour to draw a segment to
        shown.append(ys[ok])
    return np.concatenate(shown) if shown else np.array([])


def test_no_figure_has_an_empty_panel(showcase, monkeypatch):
    figures = drawn_figures(optbench.results.load(showcase, "showcase"), monkeypatch)
    assert set(figures) == {name.removeprefix("fig-") for name in FIGURE_IDS}
    for name, figure in figures.items():
        for ax in figure.axes:
            if ax.get_visible():
                assert len(drawn_values(ax)) or ax.collections, f"an empty panel in {name}: {ax.get_title()!r}"


def test_a_gap_that_reaches_zero_ends_on_a_visible_floor_marked_solved(showcase, monkeypatch):
    figure = drawn_figures(optbench.results.load(showcase, "showcase"), monkeypatch)["convergence"]
    panel = next(ax for ax in figure.axes if ax.get_title() == "quadratic(cond=1)")
    floor = np.finfo(np.float64).eps  # the gap starts at 1: eps x max(1, 1)
    assert drawn_values(panel).min() == pytest.approx(floor)
    solved = [line for line in panel.get_lines() if line.get_marker() == "v"]
    assert [(list(line.get_xdata()), list(line.get_ydata())) for line in solved] == [([1], [floor])] * 2
    assert [text.get_text() for text in panel.texts] == ["gd: solved at iteration 1",
                                                         "heavy_ball: solved at iteration 1"]
    untouched = next(ax for ax in figure.axes if ax.get_title() == "quadratic(cond=10)")
    assert not untouched.texts and drawn_values(untouched).min() == pytest.approx(1e-6)


def test_a_method_whose_cells_are_solved_at_different_iterations_shows_the_range(monkeypatch):
    captured = []
    monkeypatch.setattr(plots, "png", captured.append)
    table = pd.DataFrame({"problem": "p", "method": "m", "seed": [0] * 4 + [1] * 4, "cell_id": ["a"] * 4 + ["b"] * 4,
                          "dtype": "float64", "budget": [0, 1, 2, 3] * 2,
                          "f_gap": [1.0, 0.0, 0.0, 0.0, 1.0, 0.5, 0.1, 0.0], "grad_norm": np.nan})
    plots.convergence(table, "iterations", "iteration {}")
    assert [text.get_text() for text in captured[0].axes[0].texts] == ["m: solved at iteration 1-3"]


def test_a_run_in_float32_is_floored_at_float32_resolution():
    table = pd.DataFrame({"problem": "p", "method": "m", "seed": 0, "cell_id": "c", "dtype": "float32",
                          "budget": [0, 1, 2], "f_gap": [4.0, 1e-9, 0.0], "grad_norm": [1.0, 1e-5, 0.0]})
    assert plots.resolution(table["f_gap"].to_numpy(), "float32") == pytest.approx(4 * np.finfo(np.float32).eps)
    assert plots.convergence(table, "iterations").startswith(PNG)


def printed_tables(page: str) -> dict[str, list[list[str]]]:
    """Each table of the page by id: its header row, then its body rows, as text."""
    found = {}
    for table_id, body in re.findall(r'<table[^>]*id="table-([^"]+)"[^>]*>(.*?)</table>', page, re.DOTALL):
        rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.DOTALL)
        found[table_id] = [[html.unescape(c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.DOTALL)]
                           for row in rows]
    return found


def test_printed_tables_name_their_columns_in_words_and_leave_out_empty_ones(page):
    printed = printed_tables(page)
    assert set(printed) == {"status", "kappa_fit", "cost_ratio", "jacobian_crossover", "failures", "environment"}
    for table_id, (header, *rows) in printed.items():
        assert all(re.fullmatch(r"[A-Za-z][\w ()/~^*.=,-]*", h) and "_" not in h for h in header), (table_id, header)
        assert "run_id" not in header and "cell_id" not in header
        for column, heading in enumerate(header):
            assert any(row[column] for row in rows), f"column {heading!r} of table-{table_id} is empty"
    crossover = printed["jacobian_crossover"][0]
    assert "outputs m where forward mode becomes cheaper" in crossover
    assert not any("cheaper mode" in heading for heading in crossover)  # they cross, so that column is empty


def test_a_table_without_a_crossover_names_the_cheaper_mode_instead(tmp_path):
    cells = [throughput_cell("jacobian_probe", 16, "jacobian", "torch", m=m, mode=mode, per_second=1e4 / products)
             for m in (1, 4) for mode, products in (("forward", 16), ("reverse", m))]
    write_run(tmp_path, "nocross", [*cells, bandwidth_cell(20.0)])
    header, row = printed_tables(to_html(optbench.results.load(tmp_path, "nocross")))["jacobian_crossover"]
    assert header == ["backend", "device", "precision", "inputs n", "cheaper mode at every m measured (no crossover)"]
    assert row[-1] == "reverse"


def test_every_printed_table_has_headings_for_people():
    printed = {"status", *(f.numbers for f in report.FIGURES if f.numbers), *(name for name, _ in report.TABLES)}
    assert all(report.HEADINGS.get(name) for name in printed)  # a figure's table brings Figure.headings


@pytest.mark.parametrize("budget, column, per", [("iterations", "iter", 1), ("oracle", "ngev", 3), ("time", "time", 1)])
def test_the_budget_axis_is_chosen_at_report_time(showcase, budget, column, per):
    results = optbench.results.load(showcase, "showcase")
    found = tables(results, budget)
    # the fake cells spend one gradient per iteration, so the oracle budget is the gradient count;
    # a curve shows at most CURVE_POINTS rows of its cell's trace, log-spaced
    from optbench.tasks.optimize import CURVE_POINTS, thin

    shown = pd.concat(thin(trace, CURVE_POINTS) for _, trace in results.traces.groupby("cell_id", observed=True))
    assert sorted(found["convergence"]["budget"]) == pytest.approx(sorted(shown[column]))
    # data profiles step at the budgets spent (oracle calls per n + 1, n = 2)
    steps = found["data_profile"]["alpha"].unique() * per
    assert set(steps.round(9)) <= {0.0, *results.traces[column].round(9)}


def test_an_unknown_budget_is_a_user_error(showcase, capsys):
    with pytest.raises(OptbenchError, match="unknown budget axis 'calls'"):
        tables(optbench.results.load(showcase, "showcase"), "calls")
    with pytest.raises(SystemExit):
        main(["report", "showcase", "--out", str(showcase), "--budget", "calls"])
    assert "invalid choice: 'calls'" in capsys.readouterr().err


def test_markdown_writes_the_figures_beside_it(showcase, tmp_path):
    written = write_report(showcase, "showcase", "md", "oracle", tmp_path / "out" / "report.md")
    text = (tmp_path / "out" / "report.md").read_text()
    images = re.findall(r"!\[[^]]*\]\(([^)]+)\)", text)
    assert images == [f"report-{name[len('fig-'):]}.png" for name in FIGURE_IDS]
    assert all((tmp_path / "out" / image).read_bytes().startswith(PNG) for image in images)
    assert len(written) == 1 + len(images)
    assert "<script>" not in text and html.escape(HOSTILE).replace("|", "\\|") in text
    assert "oracle calls" in text


def test_csv_writes_every_table(showcase, tmp_path):
    written = write_report(showcase, "showcase", "csv", "time", tmp_path)
    found = tables(optbench.results.load(showcase, "showcase"), "time")
    assert sorted(p.name for p in written) == sorted(f"showcase-report-{name}.csv" for name in found)
    kappa = pd.read_csv(tmp_path / "showcase-report-kappa_fit.csv")
    assert kappa["exponent"].to_list() == pytest.approx(found["kappa_fit"]["exponent"].to_list())


def test_the_command_writes_beside_the_store_by_default_and_knows_latest(showcase, capsys):
    write_run(showcase, "later", [optimize_cell("quadratic", "gd")])
    assert main(["report", "latest", "--out", str(showcase)]) == 0
    assert capsys.readouterr().out.strip() == str(showcase / "later-report.html")
    assert main(["report", "nope", "--out", str(showcase)]) == 2
    assert "no run 'nope'" in capsys.readouterr().err


def test_a_real_run_reports_end_to_end(tmp_path, capsys):
    assert main(["run", "suites/smoke.toml", "--out", str(tmp_path), "--jobs", "2", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["report", "latest", "--out", str(tmp_path), "--dest", str(tmp_path / "smoke.html")]) == 0
    page = (tmp_path / "smoke.html").read_text()
    for figure in ("fig-convergence", "fig-performance-profile", "fig-data-profile"):
        assert f'<figure id="{figure}">' in page
    assert "rosenbrock(n=2)/gd(step=0.1)" in page.split('id="table-failures"')[1]  # its diverged cells


def test_the_readme_figures_script_draws_one_figure_per_suite_run(tmp_path):
    showcase_run(tmp_path, "cond-run", suite_name="conditioning")
    write_run(tmp_path, "tp-run", [optimize_cell("quadratic", "gd")], suite_name="throughput")
    done = subprocess.run([sys.executable, "scripts/readme-figures.py", "--results", str(tmp_path),
                           "--dest", str(tmp_path / "figures")], capture_output=True, text=True, check=True)
    assert [p.name for p in (tmp_path / "figures").iterdir()] == ["conditioning.png"]
    assert (tmp_path / "figures" / "conditioning.png").read_bytes().startswith(PNG)
    assert "kappa of run cond-run" in done.stdout
    assert "throughput: run tp-run has no data for throughput; skipped" in done.stderr
    assert "quickstart: no run in" in done.stderr


def test_tables_streamed_from_the_store_equal_those_of_loaded_traces(showcase):
    loaded = tables(optbench.results.load(showcase, "showcase"), "oracle")
    streamed = tables(optbench.results.load(showcase, "showcase", traces=False), "oracle")
    assert streamed.keys() == loaded.keys()
    for name, frame in loaded.items():
        pd.testing.assert_frame_equal(streamed[name], frame, check_dtype=False, check_categorical=False)


def test_a_long_curve_is_thinned_log_spaced_keeping_its_ends():
    from optbench.tasks.optimize import thin

    trace = pd.DataFrame({"iter": range(100_000)})
    kept = thin(trace, 400)["iter"].to_numpy()
    assert len(kept) <= 401 and kept[0] == 0 and kept[-1] == 99_999 and (np.diff(kept) > 0).all()
    assert thin(trace.head(50), 400).equals(trace.head(50))


def test_many_seeds_of_a_method_are_drawn_as_their_median(tmp_path):
    from optbench.tasks.optimize import MAX_CURVES

    seeds = MAX_CURVES + 5
    cells = [optimize_cell("quadratic", opt, seed=s, rate=rate, iterations=30 + s)
             for opt, rate in (("gd", 0.8), ("nesterov", 0.5)) for s in range(seeds)]
    cells.append(optimize_cell("rosenbrock", "gd", rate=0.9))
    write_run(tmp_path, "many", cells)
    curves = tables(optbench.results.load(tmp_path, "many", traces=False))["convergence"]
    lines = curves[["problem", "method", "cell_id"]].drop_duplicates()
    assert len(lines) == 3 and (lines["cell_id"] == f"median of {seeds} cells").sum() == 2
    gd = curves[(curves["method"] == "gd") & curves["problem"].str.startswith("quadratic")]
    # the median of rate**i over the seeds is rate**i itself until the shortest cell stops
    early = gd[(gd["budget"] > 0) & (gd["budget"] <= 30)]
    assert len(early) > 10
    np.testing.assert_allclose(early["f_gap"], 0.8 ** np.floor(early["budget"] + 1e-9), rtol=1e-12)


def test_runtime_distributions_of_a_streamed_bbob_run_equal_the_loaded_ones(tmp_path):
    cells = [optimize_cell("bbob", opt, objective_params={"function": f}, rate=rate, iterations=60)
             for opt, rate in (("gd", 0.8), ("nesterov", 0.6)) for f in (1, 20)]
    write_run(tmp_path, "bbob", cells)
    loaded = tables(optbench.results.load(tmp_path, "bbob"))["runtime_distribution"]
    streamed = tables(optbench.results.load(tmp_path, "bbob", traces=False))["runtime_distribution"]
    assert len(loaded)
    pd.testing.assert_frame_equal(streamed, loaded, check_dtype=False)

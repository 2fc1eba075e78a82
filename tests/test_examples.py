"""The API example script reproduces the course notes' gradient-descent numbers."""
import importlib.util
from pathlib import Path

import pandas as pd

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "course_notes.py"


def test_course_notes_example_writes_its_traces(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("course_notes_example", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.main(str(tmp_path))
    traces = pd.read_csv(out)
    last = traces[(traces["objective"] == "abs_quadratic") & (traces["x0"] == 0.0)].iloc[-1]
    assert last["iter"] == 150 and abs(last["dist"]) < 1e-5  # ends at 4.5
    assert "traces written to" in capsys.readouterr().out

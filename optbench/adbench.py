"""ADBench-style views of the AD workloads' throughput cells (``measure = "derivative"``).

A workload's cells time its objective (``f``) and the derivative GradBench times for it
(``derivative``); these tables set them against the problem size, against each other (the
derivative/objective ratio) and against the fastest backend at each size (the slowdown).
Imports only pandas and NumPy: the report reads them without the runtime.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

KEYS = ["objective", "point", "size", "size_name", "n", "series", "backend", "device", "dtype"]
COLUMNS = [*KEYS, "status", "reason", "computes", "seconds_f", "seconds_derivative", "ratio"]


def points(frame: pd.DataFrame) -> pd.Series:
    """Each cell's objective parameters as one string (sizes with one n may differ in others)."""
    columns = sorted(c for c in frame.columns if c.startswith("objective."))
    values = frame[columns].to_numpy(dtype=object)
    return pd.Series([",".join(map(str, row)) for row in values], index=frame.index, dtype=object)


def series_names(frame: pd.DataFrame) -> pd.Series:
    """backend, its Jacobian compression where the task has one (ba), device and dtype."""
    mode = frame["objective.mode"] if "objective.mode" in frame else pd.Series(np.nan, index=frame.index)
    mode_part = mode.map(lambda m: f" ({m})" if isinstance(m, str) else "")
    return frame["backend"] + mode_part + " " + frame["device"] + " " + frame["dtype"]


def workload_table(cells: pd.DataFrame) -> pd.DataFrame:
    """One row per workload, objective point and series: objective and derivative seconds and their ratio.

    ``status`` and ``reason`` are the derivative cell's (a skipped or failed cell keeps its row,
    with NaN times); ``size`` is the product GradBench orders the task's sizes by
    (``size_name``, e.g. ``d*k``). Repeats: the median.
    """
    if "measure" not in cells:
        return pd.DataFrame(columns=COLUMNS)
    frame = cells[(cells["task"] == "throughput") & cells["measure"].isin(["f", "derivative"])].copy()
    if frame.empty:  # a run of probes alone has no objective column
        return pd.DataFrame(columns=COLUMNS)
    frame = frame[frame["objective"].isin(set(frame.loc[frame["measure"] == "derivative", "objective"]))]
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    frame["series"] = series_names(frame)
    frame["point"] = points(frame)
    frame["n"] = frame["objective.n"].astype(int)
    for column in ("seconds", "size"):
        frame[column] = frame[column].astype(float) if column in frame else np.nan
    frame["size_name"] = frame["size_name"] if "size_name" in frame else ""
    # a skipped cell has no size metric: take it from a cell of the same objective point that ran
    known = frame.dropna(subset=["size"]).groupby(["objective", "point"])[["size", "size_name"]].first()
    frame = frame.drop(columns=["size", "size_name"]).join(known, on=["objective", "point"])
    frame["size"] = frame["size"].fillna(frame["n"])
    frame["size_name"] = frame["size_name"].fillna("n")
    frame["computes"] = frame["computes"] if "computes" in frame else np.nan
    ran = frame[frame["status"] == "ok"]
    seconds = ran.pivot_table(index=KEYS, columns="measure", values="seconds", aggfunc="median")
    seconds = seconds.reindex(columns=["f", "derivative"]).rename(
        columns={"f": "seconds_f", "derivative": "seconds_derivative"})
    derivative = frame[frame["measure"] == "derivative"].groupby(KEYS, dropna=False)[
        ["status", "reason", "computes"]].first()
    out = derivative.join(seconds, how="left").reset_index()
    out["ratio"] = out["seconds_derivative"] / out["seconds_f"]
    return out[COLUMNS].sort_values(["objective", "series", "size", "n"]).reset_index(drop=True)


def slowdowns(table: pd.DataFrame) -> pd.DataFrame:
    """Each series' geometric-mean slowdown against the fastest series at each size, per workload.

    The fastest is taken among the series that ran at that size on the same device and dtype;
    ``sizes`` counts the sizes a series ran (its mean is over those), ``fastest`` how often it
    was the fastest. Columns: ``objective``, ``series``, ``slowdown``, ``sizes``, ``fastest``.
    """
    ran = table.dropna(subset=["seconds_derivative"])
    if ran.empty:
        return pd.DataFrame(columns=["objective", "series", "slowdown", "sizes", "fastest"])
    best = ran.groupby(["objective", "size", "device", "dtype"])["seconds_derivative"].transform("min")
    ran = ran.assign(log_ratio=np.log(ran["seconds_derivative"] / best), is_fastest=ran["seconds_derivative"] == best)
    out = ran.groupby(["objective", "series"]).agg(slowdown=("log_ratio", "mean"), sizes=("log_ratio", "size"),
                                                   fastest=("is_fastest", "sum"))
    out["slowdown"] = np.exp(out["slowdown"])
    out["fastest"] = out["fastest"].astype(int)
    return out.reset_index().sort_values(["objective", "slowdown"]).reset_index(drop=True)


def slowdown_matrix(slowdown: pd.DataFrame) -> pd.DataFrame:
    """The slowdowns as a workload x series table of ``"2.3x (7)"`` strings (sizes in brackets)."""
    if slowdown.empty:
        return pd.DataFrame()
    text = slowdown.assign(cell=[f"{s:.3g}x ({k})" for s, k in zip(slowdown["slowdown"], slowdown["sizes"])])
    return text.pivot(index="objective", columns="series", values="cell").fillna("-").rename_axis(
        index=None, columns=None)

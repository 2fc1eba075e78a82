"""The words every part of optbench shares, each defined once: statuses, key columns, thread variables.

The store writes these strings, the runner counts them, the report and ``compare`` read them;
keeping them here means a new status or key column is added in one place.
"""
from __future__ import annotations

import traceback

# ---- cell statuses --------------------------------------------------------------------------
OPTIMIZE_STATUSES = ("converged", "max_iter", "time_budget", "diverged", "stopped")  # how solve() ends
MEASURE_STATUSES = ("ok",)  # a throughput measurement that ran
FAILED = ("crashed", "timeout")  # the cell did not finish; --retry-failed reruns these
STATUSES = (*OPTIMIZE_STATUSES, *MEASURE_STATUSES, *FAILED, "skipped")
SUCCESS = ("converged", "ok")  # statuses that are not failures: optimize cells, measurement cells
TIMING_DEPENDENT = ("timeout", "time_budget")  # a rerun may legitimately end differently

# ---- columns ------------------------------------------------------------------------------------
# the columns that identify a cell; the trace tables repeat them so a trace plots on its own
PLUGIN_KINDS = ("objectives", "optimizers", "backends")  # what plugins register
KEY_COLUMNS = ("run_id", "cell_id", "objective", "optimizer", "backend", "device", "dtype", "seed", "repeat")
ORACLE_COUNTS = ("nfev", "ngev", "nhvp", "nhev")
BUDGET_COLUMNS = ("iter", *ORACLE_COUNTS, "time", "cpu_time")  # every trace row has these
TIMING_COLUMNS = ("time", "cpu_time")  # trace values that differ between identical reruns

# ---- processes ----------------------------------------------------------------------------------
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def thread_env(threads: int) -> dict[str, str]:
    """Environment variables that fix the OpenMP/BLAS thread pools of a new process."""
    return {var: str(threads) for var in THREAD_VARIABLES}


def describe(exc: BaseException) -> str:
    """One line: the exception and where it was raised (the ``reason`` of a crashed cell)."""
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" (at {frame.filename}:{frame.lineno} in {frame.name})" if frame else ""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}{where}" if text else f"{type(exc).__name__}{where}"


# ---- budgets: the x axes of curves and profiles -------------------------------------------------
BUDGET_LABELS = {"iterations": "iterations", "oracle": "oracle calls (f + gradient + HVP + Hessian)",
                 "time": "optimizer time (s)"}

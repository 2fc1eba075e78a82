"""Render Graphviz DOT source to SVG with the ``dot`` program, when it is installed."""
from __future__ import annotations

import shutil
import subprocess


def have_dot() -> bool:
    return shutil.which("dot") is not None


def dot_to_svg(source: str, timeout: float = 60.0) -> str:
    """SVG text of ``source``; raises ``RuntimeError`` if ``dot`` is missing or fails."""
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError("graphviz's 'dot' program is not installed")
    done = subprocess.run([exe, "-Tsvg"], input=source, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"dot failed: {done.stderr.strip()}")
    return done.stdout

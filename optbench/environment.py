"""What a run ran on: versions, machine, threads and the project's git commit."""
from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from .registry import Registry
from .vocabulary import THREAD_VARIABLES


def cpu_model() -> str:
    """The CPU's marketing name (Linux ``/proc/cpuinfo``), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_name() -> str | None:
    """The first CUDA device's name, when torch sees one."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_name(0)


def git_commit(directory: Path) -> dict:
    """The commit checked out around ``directory`` and whether the tree has changes."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(directory), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    return {"git_commit": commit, "git_dirty": None if commit is None else bool(git("status", "--porcelain"))}


def version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def requirement_versions(distribution: str) -> dict[str, str]:
    """The installed versions of ``distribution``'s direct requirements (extras included)."""
    try:
        requirements = metadata.requires(distribution) or []
    except metadata.PackageNotFoundError:
        return {}
    names = {re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", text).group(0) for text in requirements}
    return {name: v for name in sorted(names) if (v := version(name)) is not None}


def capture(registry: Registry, suite_path: str, suite_hash: str, threads: int) -> dict:
    """The environment record of a run (JSON-ready)."""
    return {
        "optbench": version("optbench"),
        "plugins": {p.name: {"distribution": p.distribution, "version": p.version} for p in registry.plugins},
        "requirements": {d: requirement_versions(d) for d in sorted({p.distribution for p in registry.plugins} - {""})},
        "python": platform.python_version(), "numpy": version("numpy"), "torch": version("torch"),
        "pandas": version("pandas"), "platform": platform.platform(), "cpu": cpu_model(),
        "cpu_count": os.cpu_count(), "gpu": gpu_name(), "host": platform.node(),
        "threads": {"suite": threads, **{var: os.environ.get(var) for var in THREAD_VARIABLES}},
        "suite_hash": suite_hash,
        **git_commit(Path(suite_path).resolve().parent),
    }

"""BENCHMARKS.md: where every benchmark script records what it measured, with the machine and date."""

import datetime
import os
import platform
import resource
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"


def machine() -> str:
    import torch

    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}"


def benchmark_record(command: str, result: str) -> None:
    with BENCHMARKS.open("a") as out:
        out.write(f"| {datetime.date.today()} | {machine()} | `{command}` | {result} |\n")


def peak_rss_mb() -> float:
    """This process's peak resident memory since it started: its own, not its parent's.

    Not ru_maxrss of a waited-for child: on Linux that carries the parent's peak over fork and exec.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: may include the parent's

"""BENCHMARKS.md: where every benchmark script records what it measured, with the machine and date."""

import datetime
import os
import platform
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"


def machine() -> str:
    import torch

    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}"


def benchmark_record(command: str, result: str) -> None:
    with BENCHMARKS.open("a") as out:
        out.write(f"| {datetime.date.today()} | {machine()} | `{command}` | {result} |\n")

"""BENCHMARKS.md: where every benchmark script records what it measured, with the machine and date."""

import contextlib
import datetime
import os
import platform
import resource
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

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


def process_tree_cpu_seconds() -> float:
    """CPU used by this process and its waited-for children (export workers) so far, user and system."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def machine_cpu_seconds() -> float:
    """CPU used by every process on the machine so far (user, nice, system, irq, softirq of /proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(value) for value in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def _memory_kb(pid: int, field: str) -> int:
    """A field of /proc/<pid>/smaps_rollup (Rss, Pss), 0 for a process that has ended."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0
    return next((int(line.split()[1]) for line in text.splitlines() if line.startswith(f"{field}:")), 0)


class ProcessTreeMemory:
    """The peak memory of this process and its children together (export workers), sampled every 20 ms.

    `pss_mb` is the proportional set size: a page shared by forked processes counts once, split between
    them, so it is the memory the processes really take. `rss_mb` counts shared pages in every process,
    an upper bound.
    """

    def __init__(self) -> None:
        self.pss_mb = self.rss_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "ProcessTreeMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        children = Path(f"/proc/self/task/{os.getpid()}/children")
        while not self._stop.wait(0.02):
            pids = [os.getpid(), *(int(pid) for pid in children.read_text().split())]
            self.pss_mb = max(self.pss_mb, sum(_memory_kb(pid, "Pss") for pid in pids) / 1024)
            self.rss_mb = max(self.rss_mb, sum(_memory_kb(pid, "Rss") for pid in pids) / 1024)


@contextlib.contextmanager
def scratch_database(backend: str, folder: Path, *, admin_url: str, name: str) -> Iterator[str]:
    """A fresh database for one run, as a DATABASE_URL: a SQLite file in `folder`, or the PostgreSQL
    database `name` (created with `admin_url`'s role, dropped at the end, also on error)."""
    if backend == "sqlite":
        path = folder / "bench.sqlite3"
        path.unlink(missing_ok=True)
        yield f"sqlite:///{path}"
        return
    if name in {"labelapp", "test_labelapp"}:
        raise SystemExit(f"Refusing to use the database {name!r}: choose another --db.")
    _postgres_drop(admin_url, name, create=True)
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    finally:
        _postgres_drop(admin_url, name, create=False)


def _postgres_drop(admin_url: str, name: str, *, create: bool) -> None:
    import psycopg

    with psycopg.connect(admin_url.replace("postgres://", "postgresql://", 1), autocommit=True) as admin:
        for attempt in range(10):
            try:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                break
            except psycopg.errors.InsufficientPrivilege:  # an autovacuum worker after a bulk load
                if attempt == 9:
                    raise
                time.sleep(2)
        if create:
            admin.execute(f'CREATE DATABASE "{name}"')

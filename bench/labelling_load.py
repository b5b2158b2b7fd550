"""Load test of the labelling queue: simulated labellers hammer the REST API served by gunicorn.

Usage: python bench/labelling_load.py [--seconds 60] [--labellers 32] [--items 20000]
       [--workers 2] [--threads 4] [--worker-class gthread] [--flow label-next|separate]
       [--rate 0] [--think-ms 0] [--plain-statements] [--backend postgres|sqlite]
       [--server gunicorn|runserver] [--selection uniform|active] [--record]

With PostgreSQL (the default; the role in --admin-url must have CREATEDB) it creates the database --db;
with --backend sqlite, a SQLite file in a temporary folder with the app's own SQLite settings (WAL, busy
timeout, BEGIN IMMEDIATE). It migrates it, bulk-creates a k=2 campaign of --items pairwise items and
--labellers labellers with API tokens, starts the server (DEBUG=0) on a free 127.0.0.1 port, and runs one
thread per labeller for --seconds. --server runserver serves with Django's threaded development server, as
`make run` does: `--backend sqlite --server runserver --labellers 10` is the embedded default for a small
team. Flows: `label-next` (default) asks next-item once, then loops POST .../items/<id>/label/?next=1,
which stores the label and answers the next item: one request per label. `separate` loops POST next-item
-> POST items/<id>/labels/, two requests per label. --rate paces the labellers to that many labels/s in
all (latency at a given load; 0: as fast as answers come, i.e. saturate the server); --think-ms instead
waits an exponential time with that mean before each submit. --selection active makes the campaign use
active selection: its items pair the answers of 8 generators (every pair alike), the pair weights are
fitted once before the clock starts, and a Celery worker (the configured broker, CELERY_BROKER_URL) runs
the refreshes its labels queue, as in service.

The database URL asks for server-side binding and prepared statements (PostgreSQL plans each statement
once per connection instead of on every call); --plain-statements leaves them off, as Django's default.
gunicorn runs 2 gthread workers of 4 threads: one process per core, and threads to overlap the database
round trips and commits; more threads or processes cost more CPU per label in our runs (GIL handoffs,
more processes than cores).

With no pacing, 32 labellers and one request per label, Little's law ties the two targets together:
mean latency = 32 / (labels/s), so 300 labels/s means about 107 ms per request at saturation. Latency is
therefore measured at a given load with --rate, throughput without it.

It prints p50/p99 latency per call type, labels/s, non-2xx answers, the CPU each party used (in all and
per label: the figure to compare on a machine shared with other work), the SQL each call type runs, and
checks the queue's invariants in the database (no item over k labels, no (item, labeller) twice, every
acknowledged label stored). The server is stopped and the database dropped at the end, also on error.
--record appends the summary to BENCHMARKS.md.
"""

import argparse
import contextlib
import http.client
import itertools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import psutil
from benchmarks_file import benchmark_record, scratch_database

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CAMPAIGN = "bench"
WARM_UP_CALLS = 3  # per labeller, before the clock starts: first requests import views and connect
K = 2
ACTIVE_GENERATORS = 8  # --selection active: 28 pairs
PREPARED = "server_side_binding=true&prepare_threshold=2"
SECRET_KEY = "bench-only-" + uuid.uuid4().hex


# --- database -------------------------------------------------------------------------------------


def data_create(*, items: int, labellers: int, selection: str = "uniform") -> list[tuple[int, str]]:
    """The campaign, its items (bulk inserts, no services: minutes otherwise) and labellers with tokens.
    With active selection the two answers of an item come from two of ACTIVE_GENERATORS generators."""
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from labelapp.models import (
        LABELLERS_GROUP,
        Campaign,
        Candidate,
        Generator,
        Item,
        ItemCandidate,
        Label,
        Lease,
        Prompt,
    )

    campaign = Campaign.objects.create(
        name=CAMPAIGN, title="Load test", labels_per_item=K, selection=selection
    )
    active = selection == "active"
    generators = [
        Generator.objects.create(name=f"bench-model-{number}", model="embedded")
        for number in range(ACTIVE_GENERATORS if active else 1)
    ]
    pairs = list(itertools.combinations(generators, 2)) if active else [(generators[0], generators[0])]
    filler = "The answer, at about the length of a short real one. " * 4
    batch = 5000
    prompts = Prompt.objects.bulk_create(
        (Prompt(campaign=campaign, text=f"Question {n}: which answer is better?") for n in range(items)),
        batch_size=batch,
    )
    candidates = Candidate.objects.bulk_create(
        (
            Candidate(prompt=prompt, generator=generator, text=f"{side} answer to {prompt.pk}. {filler}")
            for number, prompt in enumerate(prompts)
            for side, generator in zip(("First", "Second"), pairs[number % len(pairs)], strict=True)
        ),
        batch_size=batch,
    )
    rng = random.Random(1)
    created = Item.objects.bulk_create(
        (Item(campaign=campaign, kind="pairwise", prompt=prompt) for prompt in prompts), batch_size=batch
    )
    slots = []
    for number, item in enumerate(created):
        positions = [0, 1]
        rng.shuffle(positions)
        for index in (0, 1):
            slots.append(
                ItemCandidate(
                    item=item,
                    candidate=candidates[2 * number + index],
                    index=index,
                    position=positions[index],
                )
            )
    ItemCandidate.objects.bulk_create(slots, batch_size=batch)

    group, _ = Group.objects.get_or_create(name=LABELLERS_GROUP)
    users = User.objects.bulk_create(User(username=f"bench{n:03d}", password="!") for n in range(labellers))
    User.groups.through.objects.bulk_create(User.groups.through(user=u, group=group) for u in users)
    tokens = Token.objects.bulk_create(Token(user=u, key=Token.generate_key()) for u in users)
    with connection.cursor() as cursor:  # planner statistics, as a database in service would have
        for model in (Item, ItemCandidate, Prompt, Candidate, Label, Lease):
            cursor.execute(f'ANALYZE "{model._meta.db_table}"')
    if active:
        from labelapp.services.selection import selection_weights_refresh

        selection_weights_refresh(campaign_id=campaign.pk)
    return [(token.user.pk, token.key) for token in tokens]


def worker_start(database_url: str, log: IO[bytes]) -> subprocess.Popen:
    """A Celery worker on the default queue: it runs the weights refreshes active selection queues."""
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=WARNING", "--pool=solo"]
    return subprocess.Popen(
        command, cwd=REPO, env=server_env(database_url), stdout=log, stderr=subprocess.STDOUT
    )


# --- gunicorn --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "API_RATE_USER": "none",  # measures the server, not the per-user rate limit
        "LOG_LEVEL": "WARNING",
        "HF_HUB_OFFLINE": "1",
    }


def gunicorn_start(
    args: argparse.Namespace, port: int, database_url: str, log: IO[bytes]
) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "config.wsgi",
        f"--bind=127.0.0.1:{port}",
        f"--workers={args.workers}",
        f"--worker-class={args.worker_class}",
        f"--threads={args.threads}",
        "--keep-alive=5",
        "--graceful-timeout=5",
        "--log-level=warning",
    ]
    if getattr(args, "server", "gunicorn") == "runserver":  # as `make run` serves, without the reloader
        command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    return subprocess.Popen(
        command, cwd=REPO, env=server_env(database_url), stdout=log, stderr=subprocess.STDOUT
    )


def gunicorn_stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)  # the master stops its workers
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            for child in psutil.Process(server.pid).children(recursive=True):
                child.kill()
            server.kill()
            server.wait(timeout=10)


def wait_ready(port: int, token: str, server: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {server.returncode}")
        try:
            # GET on a POST-only endpoint: 405 once the token and the labeller's permissions check out.
            status, body = Client(port, token).call("GET", f"/api/v1/campaigns/{CAMPAIGN}/next-item/")
            if status == 405:
                return
            raise RuntimeError(f"gunicorn answered {status} to the first request: {body}")
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s")


# --- load ------------------------------------------------------------------------------------------


class Client:
    """One keep-alive connection, as a labeller's browser or script would hold."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.reused = False  # the connection has answered before, so the server may have closed it idle

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        payload = json.dumps(body).encode() if body is not None else None
        reused = self.reused
        try:
            response, data = self._send(method, path, payload)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            if not reused:
                raise
            # The server closed an idle keep-alive connection: retry once on a new one, as browsers do
            # (safe here: next-item resumes my lease, a submit repeats its idempotency key).
            response, data = self._send(method, path, payload)
        if response.will_close:
            self.connection.close()
            self.reused = False
        else:
            self.reused = True
        try:
            return response.status, (json.loads(data) if data else {})
        except ValueError:  # an HTML error page
            return response.status, {"body": data[:300].decode(errors="replace")}

    def _send(self, method: str, path: str, payload: bytes | None) -> tuple[http.client.HTTPResponse, bytes]:
        try:
            self.connection.request(method, path, body=payload, headers=self.headers)
            response = self.connection.getresponse()
            return response, response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()  # reconnects on the next call
            self.reused = False
            raise


CALLS = ("next-item", "label+next", "submit")


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {call: [] for call in CALLS})
    statuses: Counter = field(default_factory=Counter)  # (call, status) of non-2xx answers
    transport_errors: Counter = field(default_factory=Counter)
    acked: list[tuple[int, int, int]] = field(default_factory=list)  # (label id, item id, labeller id)
    empty: int = 0  # "no item for you" answers
    stop: threading.Event = field(default_factory=threading.Event)  # set: the run is being torn down
    deadline: float = 0.0  # set when every labeller has warmed up
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class Pace:
    flow: str  # "label-next" or "separate"
    think: float  # seconds, mean of an exponential wait before each submit; 0: none
    interval: float  # seconds between one labeller's labels (from --rate); 0: no pacing


def labeller_run(
    port: int, user_id: int, token: str, start: threading.Barrier, pace: Pace, tally: Tally
) -> None:
    client = Client(port, token)
    for _ in range(WARM_UP_CALLS):  # open the connection; gunicorn threads open theirs to the database
        with contextlib.suppress(OSError, http.client.HTTPException):
            client.call("GET", f"/api/v1/campaigns/{CAMPAIGN}/next-item/")
    start.wait(timeout=120)
    deadline = tally.deadline
    rng = random.Random(user_id)
    latencies: dict[str, list[float]] = {call: [] for call in CALLS}
    statuses: Counter = Counter()
    errors: Counter = Counter()
    acked = []
    empty = 0
    # Paced labellers start spread over one interval, so their requests do not arrive in step.
    due = time.monotonic() + rng.uniform(0, pace.interval)

    def timed(kind: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict] | None:
        started = time.perf_counter()
        try:
            status, data = client.call(method, path, body)
        except (OSError, http.client.HTTPException, ValueError) as error:
            errors[f"{kind}: {type(error).__name__}"] += 1
            return None
        latencies[kind].append(time.perf_counter() - started)
        if not 200 <= status < 300:
            statuses[(kind, status)] += 1
        return status, data

    item = None
    while time.monotonic() < deadline and not tally.stop.is_set():
        if item is None:
            answer = timed("next-item", "POST", f"/api/v1/campaigns/{CAMPAIGN}/next-item/")
            if answer is None or answer[0] != 200:
                time.sleep(0.01)
                continue
            item = answer[1]["item"]
            if item is None:
                empty += 1
                time.sleep(0.05)
                continue
        if pace.think:  # a person reading the item: exponential, mean --think-ms
            tally.stop.wait(rng.expovariate(1 / pace.think))
        if pace.interval:
            tally.stop.wait(max(0.0, due - time.monotonic()))
            due = max(due + pace.interval, time.monotonic() - pace.interval)  # no bursts to catch up
        body = {"value": {"choice": rng.choice(["a", "b", "tie"])}, "idempotency_key": uuid.uuid4().hex}
        if pace.flow == "separate":
            answer = timed("submit", "POST", f"/api/v1/items/{item['id']}/labels/", body)
            label = answer[1] if answer is not None and answer[0] == 201 else None
            item = None
        else:
            path = f"/api/v1/campaigns/{CAMPAIGN}/items/{item['id']}/label/?next=1"
            answer = timed("label+next", "POST", path, body)
            label = answer[1]["label"] if answer is not None and answer[0] == 201 else None
            following = answer[1].get("next") if answer is not None and answer[0] in (200, 201) else None
            item = following["item"] if following else None
            if following and item is None:
                empty += 1
        if label is not None:
            acked.append((label["id"], label["item"], user_id))
    client.connection.close()
    with tally.lock:
        for kind, values in latencies.items():
            tally.latencies[kind].extend(values)
        tally.statuses.update(statuses)
        tally.transport_errors.update(errors)
        tally.acked.extend(acked)
        tally.empty += empty


def percentile_ms(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


class PostgresCpu:
    """CPU seconds of the PostgreSQL backends serving the benchmark's database (they come and go with
    connections): sampled often, so a backend that exits loses at most one interval."""

    def __init__(self, database: str, interval: float = 0.5) -> None:
        self.database = database
        self.first: dict[tuple[int, float], float] = {}
        self.last: dict[tuple[int, float], float] = {}
        self.done = threading.Event()
        self.interval = interval
        self.sample(baseline=True)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def sample(self, baseline: bool = False) -> None:
        for process in psutil.process_iter(["name", "cmdline", "create_time", "cpu_times"]):
            title = " ".join(process.info["cmdline"] or ())
            if process.info["name"] != "postgres" or f" {self.database} " not in title:
                continue
            key = (process.pid, process.info["create_time"])
            used = process.info["cpu_times"].user + process.info["cpu_times"].system
            self.first.setdefault(key, used if baseline else 0.0)  # a process started since: all its CPU
            self.last[key] = used

    def run(self) -> None:
        while not self.done.wait(self.interval):
            self.sample()

    def stop(self) -> float:
        self.done.set()
        self.thread.join()
        self.sample()
        return sum(used - self.first[key] for key, used in self.last.items())


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores): PostgreSQL backends come and go, so count all."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


# --- checks ----------------------------------------------------------------------------------------


def invariants_check(acked: list[tuple[int, int, int]]) -> tuple[bool, int, str]:
    from django.db.models import Count
    from django.utils import timezone

    from labelapp.models import Campaign, Label, Lease

    campaign = Campaign.objects.get(name=CAMPAIGN)
    labels = Label.objects.filter(item__campaign=campaign)
    over = labels.values("item").annotate(n=Count("pk")).filter(n__gt=K).count()
    twice = labels.values("item", "labeller").annotate(n=Count("pk")).filter(n__gt=1).count()
    stored = set(labels.values_list("pk", "item_id", "labeller_id"))
    missing = sum(1 for ack in acked if ack not in stored)
    per_item = Counter(item_id for _, item_id, _ in stored)
    live = Counter(
        Lease.objects.filter(item__campaign=campaign, expires_at__gt=timezone.now()).values_list(
            "item_id", flat=True
        )
    )
    crowded = sum(1 for item_id in set(per_item) | set(live) if per_item[item_id] + live[item_id] > K)
    ok = not (over or twice or missing or crowded)
    text = (
        f"invariants {'OK' if ok else 'BROKEN'}: {over} items over k={K} labels, {twice} (item, labeller) "
        f"twice, {missing} of {len(acked)} acknowledged labels missing, {crowded} items with labels + live "
        f"leases > k; {len(stored)} labels stored"
    )
    return ok, over, text


def queries_per_call(user_id: int, flow: str) -> str:
    """One labelling round through Django's test client, counting the SQL each call runs."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient(SERVER_NAME="127.0.0.1")
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get(user=User.objects.get(pk=user_id)).key}")
    parts = []
    with CaptureQueriesContext(connection) as leased:
        answer = client.post(f"/api/v1/campaigns/{CAMPAIGN}/next-item/")
    parts.append(describe("next-item", leased.captured_queries))
    item = answer.json()["item"]
    if item is not None:
        if flow == "separate":
            kind, path = "submit", f"/api/v1/items/{item['id']}/labels/"
        else:
            kind, path = "label+next", f"/api/v1/campaigns/{CAMPAIGN}/items/{item['id']}/label/?next=1"
        with CaptureQueriesContext(connection) as submitted:
            client.post(path, {"value": {"choice": "a"}, "idempotency_key": uuid.uuid4().hex}, format="json")
        parts.append(describe(kind, submitted.captured_queries))
    return "; ".join(parts)


def describe(kind: str, queries: list[dict]) -> str:
    total = sum(float(q["time"]) for q in queries) * 1000
    slowest = max(queries, key=lambda q: float(q["time"]))
    return (
        f"{kind}: {len(queries)} queries, {total:.1f} ms in SQL (slowest {float(slowest['time']) * 1000:.1f} ms: "
        f"{slowest['sql'][:90]}...)"
    )


# --- main ------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--labellers", type=int, default=32)
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    parser.add_argument("--flow", default="label-next", choices=["label-next", "separate"])
    parser.add_argument(
        "--rate", type=float, default=0, help="labels/s to pace all labellers to; 0: saturate"
    )
    parser.add_argument(
        "--plain-statements",
        action="store_true",
        help="no server-side binding or prepared statements (Django's default)",
    )
    parser.add_argument("--backend", default="postgres", choices=["postgres", "sqlite"])
    parser.add_argument(
        "--server",
        default="gunicorn",
        choices=["gunicorn", "runserver"],
        help="runserver: Django's threaded development server, as make run serves",
    )
    parser.add_argument("--admin-url", default="postgres://labelapp:labelapp@127.0.0.1:5432/labelapp")
    parser.add_argument("--db", default="labelapp_bench", help="created, then dropped at the end")
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0,
        help="mean time a labeller looks at an item before submitting; 0 (default): saturate the server",
    )
    parser.add_argument("--selection", default="uniform", choices=["uniform", "active"])
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on kill as on Ctrl-C
    args.load_before = os.getloadavg()[0]  # other work on the machine, for the record
    with (
        tempfile.TemporaryDirectory(prefix="labelapp-bench-") as folder,
        scratch_database(args.backend, Path(folder), admin_url=args.admin_url, name=args.db) as url,
        tempfile.NamedTemporaryFile(prefix="labelapp-server-", suffix=".log") as log,
    ):
        prepared = args.backend == "postgres" and not args.plain_statements
        database_url = f"{url}?{PREPARED}" if prepared else url
        os.environ.update(
            DATABASE_URL=database_url,
            DJANGO_SETTINGS_MODULE="config.settings",
            HF_HUB_OFFLINE="1",
            ALLOWED_HOSTS="127.0.0.1",
            LOG_LEVEL="WARNING",
        )
        run(args, database_url, log)


def run(args: argparse.Namespace, database_url: str, log: IO[bytes]) -> None:
    server = celery_worker = None
    tally = Tally()
    try:
        began = time.perf_counter()
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity=0"],
            cwd=REPO,
            env=server_env(database_url),
            check=True,
        )
        import django

        django.setup()
        from django.db import connections

        tokens = data_create(items=args.items, labellers=args.labellers, selection=args.selection)
        connections.close_all()
        if args.selection == "active":
            celery_worker = worker_start(database_url, log)
        print(f"setup: {args.items} items, {args.labellers} labellers in {time.perf_counter() - began:.1f} s")

        port = free_port()
        server = gunicorn_start(args, port, database_url, log)
        wait_ready(port, tokens[0][1], server)
        gunicorn_processes = [psutil.Process(server.pid), *psutil.Process(server.pid).children()]
        me = psutil.Process()
        # The clock starts once every labeller has warmed up.
        start = threading.Barrier(
            len(tokens) + 1, action=lambda: setattr(tally, "deadline", time.monotonic() + args.seconds)
        )
        pace = Pace(
            flow=args.flow,
            think=args.think_ms / 1000,
            interval=len(tokens) / args.rate if args.rate else 0.0,
        )
        workers = [
            threading.Thread(
                target=labeller_run, args=(port, user_id, token, start, pace, tally), daemon=True
            )
            for user_id, token in tokens
        ]
        for worker in workers:
            worker.start()
        start.wait(timeout=120)
        started = tally.deadline - args.seconds
        cpu_before = (machine_busy_seconds(), cpu_seconds(gunicorn_processes), cpu_seconds([me]))
        postgres_cpu = PostgresCpu(args.db) if args.backend == "postgres" else None  # SQLite: in the server
        for worker in workers:
            worker.join(timeout=args.seconds + 120)
        elapsed = time.monotonic() - started
        cpu_after = (machine_busy_seconds(), cpu_seconds(gunicorn_processes), cpu_seconds([me]))
        postgres_seconds = postgres_cpu.stop() if postgres_cpu is not None else 0.0
        if any(worker.is_alive() for worker in workers):
            raise RuntimeError("a simulated labeller did not finish")
        gunicorn_stop(server)

        ok, over, invariants = invariants_check(tally.acked)
        labels_per_s = len(tally.acked) / elapsed
        non_2xx = sum(tally.statuses.values())
        cpu = [after - before for before, after in zip(cpu_before, cpu_after, strict=True)]
        per_label = 1000 / max(1, len(tally.acked))
        config = f"gunicorn -w {args.workers} -k {args.worker_class} --threads {args.threads}"
        if args.worker_class == "sync":
            config = f"gunicorn -w {args.workers} -k sync"
        if args.server == "runserver":
            config = "runserver (threaded)"
        load = f" paced to {args.rate:.0f} labels/s" if args.rate else ""
        load += f" (think {args.think_ms:.0f} ms)" if args.think_ms else ""
        statements = "plain statements" if args.plain_statements else "prepared statements"
        if args.backend == "sqlite":
            statements = "SQLite (WAL, BEGIN IMMEDIATE)"
        server_cpu = "server" if args.server == "runserver" else "gunicorn"
        database_cpu = (
            f", PostgreSQL {postgres_seconds * per_label:.1f} ms" if args.backend == "postgres" else ""
        )
        calls = "; ".join(
            f"{kind} p50 {percentile_ms(values, 0.5):.0f} ms p99 {percentile_ms(values, 0.99):.0f} ms"
            f"{f' (n={len(values)})' if kind == 'next-item' and args.flow != 'separate' else ''}"
            for kind, values in tally.latencies.items()
            if values
        )
        summary = (
            f"{config}, {statements}, flow {args.flow}, selection {args.selection}, "
            f"{args.labellers} labellers x {args.seconds:.0f} s{load}, "
            f"{args.items} items k={K}: {len(tally.acked)} labels = {labels_per_s:.0f} labels/s; {calls}; "
            f"CPU per label: {server_cpu} {cpu[1] * per_label:.1f} ms{database_cpu}; "
            f"non-2xx {non_2xx}, transport errors {sum(tally.transport_errors.values())}; "
            f"items over k: {over}; "
            f"{'invariants OK' if ok else 'INVARIANTS BROKEN'}; machine load: 1-min load average "
            f"{args.load_before:.2f} before the run, other processes {cpu[0] - cpu[1] - cpu[2] - postgres_seconds:.0f} "
            f"core-s of the run's {elapsed * psutil.cpu_count():.0f}"
        )
        print(
            f"cpu over {elapsed:.1f} s wall x {psutil.cpu_count()} cores: machine busy {cpu[0]:.1f} s, of which "
            f"{server_cpu} {cpu[1]:.1f} s, PostgreSQL {postgres_seconds:.1f} s, load generator {cpu[2]:.1f} s, "
            f"other processes {cpu[0] - cpu[1] - cpu[2] - postgres_seconds:.1f} s"
        )
        if tally.statuses or tally.transport_errors:
            print(f"non-2xx: {dict(tally.statuses)}; transport errors: {dict(tally.transport_errors)}")
        print(f"'no item' answers: {tally.empty}")
        if args.selection == "active":
            from labelapp.models import Campaign

            fitted = Campaign.objects.get(name=CAMPAIGN).pair_weights_at
            print(
                f"pair weights last refitted at {fitted:%H:%M:%S} (the run ended at {time.strftime('%H:%M:%S')})"
            )
        print(invariants)
        print(f"SQL per call (one of each, in-process): {queries_per_call(tokens[-1][0], args.flow)}")
        print(summary)
        if args.record:
            benchmark_record("python bench/labelling_load.py " + " ".join(sys.argv[1:]), summary)
        if not ok:
            sys.exit(1)
    except Exception:
        log.flush()
        tail = Path(log.name).read_text(errors="replace")[-3000:]
        if tail:
            print(f"gunicorn log ({log.name}), last lines:\n{tail}", file=sys.stderr)
        raise
    finally:
        tally.stop.set()
        if server is not None:
            gunicorn_stop(server)
        if celery_worker is not None:
            gunicorn_stop(celery_worker)  # the same: SIGTERM, a warm shutdown, then kill
        with contextlib.suppress(Exception):  # Django may not be set up yet
            from django.db import connections

            connections.close_all()


if __name__ == "__main__":
    main()

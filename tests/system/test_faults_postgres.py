"""Fault: PostgreSQL restarted while labellers work (issue 8, production readiness).

A throwaway PostgreSQL server of the test's own (the shared one on port 5432 is never touched), gunicorn
serving the app against it, and labellers looping label+next through the API. In the middle the server
is stopped (fast shutdown: open transactions are rolled back, connections cut), left down for 2 s and
started again. Expected: every request fails cleanly (503 with Retry-After and a JSON error naming the
database, never a 500 or an HTML page), the app recovers by itself (gunicorn is not restarted), every
acknowledged label is stored, and the database holds no partial write.

Needs the PostgreSQL server binaries (Debian: apt-get install postgresql); skipped without them. As root
the server runs as the postgres system user, as PostgreSQL requires.
"""

import contextlib
import glob
import http.client
import json
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

pytestmark = pytest.mark.fault

REPO = Path(__file__).resolve().parents[2]
CAMPAIGN = "fault"
K = 2
ITEMS = 500
LABELLERS = 4
THINK = 0.02  # seconds a labeller waits before each submit
RETRY_CAP = 0.5  # seconds: the labellers retry sooner than Retry-After says, to probe the outage
# Seconds: load before the stop, server down, load after it is back, load after a second restart made while
# no request was running (the connections gunicorn keeps are then dead without having failed a request).
BEFORE, DOWN, AFTER, AFTER_QUIET = 3.0, 2.0, 4.0, 3.0


# --- a PostgreSQL server of the test's own -----------------------------------------------------------


def postgres_bindir() -> Path | None:
    """Where initdb and pg_ctl are: the newest Debian version, else what pg_config or PATH says."""
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda path: int(Path(path).parent.name) if Path(path).parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates = [Path(path) for path in versions]
    if pg_config := shutil.which("pg_config"):
        answer = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(Path(answer.stdout.strip()))
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).parent)
    return next(
        (path for path in candidates if (path / "initdb").is_file() and (path / "pg_ctl").is_file()), None
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ThrowawayPostgres:
    """initdb into a temporary folder, a free port on 127.0.0.1, a socket in the same folder."""

    def __init__(self, bindir: Path, root: Path) -> None:
        self.bindir, self.root, self.data = bindir, root, root / "data"
        self.port = free_port()
        self.as_server_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def tool(self, name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [*self.as_server_user, str(self.bindir / name), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if check and done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{name} failed ({done.returncode}): {done.stdout}{done.stderr}\n{tail}")
        return done

    def initdb(self) -> None:
        self.tool(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "--no-locale",
            "-E",
            "UTF8",
        )

    def start(self) -> None:
        # fsync off: no machine crash is simulated, and a fast shutdown writes everything out anyway.
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.tool(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w", "start"
        )

    def stop(self, mode: str = "fast", check: bool = True) -> None:
        self.tool("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=check)

    def url(self, user: str = "postgres", password: str = "", database: str = "postgres") -> str:
        secret = f":{password}" if password else ""
        return f"postgres://{user}{secret}@127.0.0.1:{self.port}/{database}"

    def admin(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(
            self.url(database=database).replace("postgres://", "postgresql://", 1), autocommit=True
        )


@pytest.fixture
def postgres_server() -> Iterator[ThrowawayPostgres]:
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl) are not installed: apt-get install postgresql"
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root, PostgreSQL needs the postgres system user to run as")
    root = Path(tempfile.mkdtemp(prefix="labelapp-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    server = ThrowawayPostgres(bindir, root)
    try:
        server.initdb()
        server.start()
        with server.admin() as admin:
            admin.execute("CREATE ROLE labelapp LOGIN PASSWORD 'labelapp'")
            admin.execute("CREATE DATABASE labelapp OWNER labelapp")
        yield server
    finally:
        server.stop("immediate", check=False)
        shutil.rmtree(root, ignore_errors=True)


# --- the app against it ------------------------------------------------------------------------------


def campaign_seed() -> list[str]:
    """Run in the app's environment: a k=2 pairwise campaign and labellers; returns their API tokens."""
    from django.contrib.auth.models import Group, User
    from django.db import transaction
    from rest_framework.authtoken.models import Token

    from labelapp.models import LABELLERS_GROUP, Campaign, Generator, Prompt
    from labelapp.services.items import items_build
    from tests.factories import candidates_add

    with transaction.atomic():
        campaign = Campaign.objects.create(name=CAMPAIGN, title="Fault", labels_per_item=K)
        generator = Generator.objects.create(name="fake-model", model="embedded")
        for number in range(ITEMS):
            prompt = Prompt.objects.create(campaign=campaign, text=f"Question {number}?")
            candidates_add(prompt, generator, [f"first answer {number}", f"second answer {number}"])
        items_build(campaign=campaign, kind="pairwise", seed=1)
        group, _ = Group.objects.get_or_create(name=LABELLERS_GROUP)
        tokens = []
        for number in range(LABELLERS):
            user = User.objects.create(username=f"labeller{number}", password="!")  # token only
            user.groups.add(group)
            tokens.append(Token.objects.create(user=user).key)
    return tokens


SETUP = f"""
import json, django
django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from {__name__} import campaign_seed
print(json.dumps(campaign_seed()))
"""


def app_env(database_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": "fault-test-" + uuid.uuid4().hex,
        "ALLOWED_HOSTS": "127.0.0.1",
        "API_RATE_USER": "none",
        "LOG_LEVEL": "ERROR",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.pop("LABELAPP_ENV", None)
    return env


@dataclass
class Answer:
    status: int | None  # None: no HTTP answer (connection refused, reset, timed out)
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


def post(port: int, token: str, path: str, body: dict | None = None) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    try:
        connection.request("POST", path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = connection.getresponse()
        return Answer(response.status, dict(response.headers), response.read())
    except (OSError, http.client.HTTPException) as error:
        return Answer(None, {}, repr(error).encode())
    finally:
        connection.close()


@contextlib.contextmanager
def gunicorn(port: int, env: dict[str, str], log: Path, token: str) -> Iterator[subprocess.Popen]:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi",
        f"--bind=127.0.0.1:{port}",
        "--workers=2",
        "--threads=2",
        "--worker-class=gthread",
        "--graceful-timeout=3",
        "--log-level=warning",
    ]
    with log.open("wb") as out:
        server = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, f"gunicorn exited: {log.read_text(errors='replace')[-2000:]}"
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            with contextlib.suppress(OSError):
                connection.request(
                    "GET",
                    f"/api/v1/campaigns/{CAMPAIGN}/next-item/",
                    headers={"Authorization": f"Token {token}"},
                )
                if (
                    connection.getresponse().status == 405
                ):  # POST only: the token and the labeller checked out
                    break
            connection.close()
            assert time.monotonic() < deadline, (
                f"gunicorn did not answer: {log.read_text(errors='replace')[-2000:]}"
            )
            time.sleep(0.2)
        yield server
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# --- the labellers -----------------------------------------------------------------------------------


@dataclass
class Run:
    back_at: float = float("inf")  # monotonic time the restarted server accepted connections again
    stop_at: float = float("inf")
    answers: Counter = field(default_factory=Counter)  # (call, status)
    unclean: list[str] = field(default_factory=list)  # answers that are not a success or a clean 503
    database_503s: int = 0
    acked: dict[str, tuple[int, int]] = field(default_factory=dict)  # idempotency key: (label id, item id)
    unanswered: set[str] = field(default_factory=set)  # submits never answered 2xx: stored or not
    refused: list[str] = field(default_factory=list)  # submits answered 4xx
    failed_after_back: list[str] = field(default_factory=list)
    recovered: set[int] = field(default_factory=set)  # labellers answered 2xx after the server was back
    lock: threading.Lock = field(default_factory=threading.Lock)
    gate: threading.Event = field(default_factory=threading.Event)  # cleared: no new request starts
    in_flight: int = 0

    def request_begin(self) -> None:
        while True:
            self.gate.wait()
            with self.lock:
                if self.gate.is_set():
                    self.in_flight += 1
                    return

    def request_end(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def pause(self) -> None:
        """Let the requests under way finish and start no new one."""
        with self.lock:
            self.gate.clear()
        while True:
            with self.lock:
                if self.in_flight == 0:
                    return
            time.sleep(0.01)

    def post(self, port: int, token: str, path: str, body: dict | None = None) -> tuple[float, Answer]:
        self.request_begin()
        try:
            return time.monotonic(), post(port, token, path, body)
        finally:
            self.request_end()

    def note(self, labeller: int, call: str, sent: float, answer: Answer) -> bool:
        """Record an answer; True when it is a success. A failure must be a clean 503."""
        ok = answer.status is not None and 200 <= answer.status < 300
        with self.lock:
            self.answers[(call, answer.status)] += 1
            if ok and sent >= self.back_at:
                self.recovered.add(labeller)
            if not ok and sent >= self.back_at:
                self.failed_after_back.append(
                    f"labeller {labeller} {call}: {answer.status} {answer.body[:200]!r}"
                )
            if ok:
                return True
            problem = clean_503_problem(answer)
            if problem:
                self.unclean.append(f"labeller {labeller} {call}: {problem}")
            elif "database" in answer.json()["message"]:
                self.database_503s += 1
        return False


def clean_503_problem(answer: Answer) -> str | None:
    """Why this failure is not a clean 503 (None when it is one)."""
    if answer.status is None:
        return f"no HTTP answer ({answer.body.decode()})"
    if answer.status != 503:
        return f"status {answer.status}: {answer.body[:300]!r}"
    if not answer.headers.get("Retry-After", "").isdigit():
        return f"503 without Retry-After: {answer.headers}"
    if answer.headers.get("Content-Type") != "application/json":
        return f"503 as {answer.headers.get('Content-Type')}: {answer.body[:300]!r}"
    try:
        body = answer.json()
    except ValueError:
        return f"503 whose body is not JSON: {answer.body[:300]!r}"
    if set(body) != {"message", "extra"}:
        return f"503 not in the error shape: {body}"
    return None


def retry_wait(answer: Answer) -> float:
    return min(RETRY_CAP, float(answer.headers.get("Retry-After", RETRY_CAP)))


def labeller_run(number: int, token: str, port: int, run: Run) -> None:
    """Next item, then label+next, as fast as answers come (with a short think time); a submit that got no
    success is retried with the same idempotency key, as the API asks."""
    rng = random.Random(number)
    item: dict | None = None
    pending: tuple[str, int] | None = None  # (idempotency key, item id) of a submit not yet answered 2xx
    while time.monotonic() < run.stop_at:
        if pending is None and item is None:
            sent, answer = run.post(port, token, f"/api/v1/campaigns/{CAMPAIGN}/next-item/")
            if run.note(number, "next-item", sent, answer):
                item = answer.json()["item"]
                if item is None:
                    time.sleep(0.1)  # nothing left for me
            else:
                time.sleep(retry_wait(answer))
            continue
        if pending is None:
            pending = (uuid.uuid4().hex, item["id"])
        key, item_id = pending
        time.sleep(THINK)
        sent, answer = run.post(
            port,
            token,
            f"/api/v1/campaigns/{CAMPAIGN}/items/{item_id}/label/?next=1",
            {"value": {"choice": rng.choice(["a", "b", "tie"])}, "idempotency_key": key},
        )
        if run.note(number, "label+next", sent, answer):
            done = answer.json()
            with run.lock:
                run.acked[key] = (done["label"]["id"], done["label"]["item"])
            pending, item = None, done["next"]["item"]
        elif answer.status is not None and 400 <= answer.status < 500:
            with run.lock:
                run.refused.append(f"labeller {number} item {item_id}: {answer.status} {answer.body[:200]!r}")
            pending = item = None
        else:
            time.sleep(retry_wait(answer))
    if pending is not None:
        with run.lock:
            run.unanswered.add(pending[0])


# --- the test ----------------------------------------------------------------------------------------


def test_postgresql_restarted_under_load_fails_cleanly_and_recovers(postgres_server, tmp_path):
    env = app_env(postgres_server.url("labelapp", "labelapp", "labelapp"))
    setup = subprocess.run(
        [sys.executable, "-c", SETUP], cwd=REPO, env=env, capture_output=True, text=True, timeout=180
    )
    assert setup.returncode == 0, f"migrate and seed failed:\n{setup.stderr[-3000:]}"
    tokens = json.loads(setup.stdout.strip().splitlines()[-1])

    port = free_port()
    log = tmp_path / "gunicorn.log"
    run = Run()
    run.gate.set()
    with gunicorn(port, env, log, tokens[0]):
        threads = [
            threading.Thread(target=labeller_run, args=(number, token, port, run), daemon=True)
            for number, token in enumerate(tokens)
        ]
        for thread in threads:
            thread.start()
        try:
            time.sleep(BEFORE)
            postgres_server.stop("fast")
            time.sleep(DOWN)
            postgres_server.start()
            run.back_at = time.monotonic()
            time.sleep(AFTER)
            run.pause()
            postgres_server.stop("fast")
            postgres_server.start()
            run.stop_at = time.monotonic() + AFTER_QUIET
        finally:
            run.stop_at = min(run.stop_at, time.monotonic() + AFTER_QUIET)  # also when a step failed
            run.gate.set()
            for thread in threads:
                thread.join(timeout=AFTER_QUIET + 60)
        assert not any(thread.is_alive() for thread in threads), "a labeller hung"
    gunicorn_log = log.read_text(errors="replace")[-3000:]
    seen = f"answers {dict(run.answers)}; gunicorn log:\n{gunicorn_log}"

    # Requests failed cleanly, the outage was felt, and the app came back without a restart.
    assert not run.unclean, f"{len(run.unclean)} unclean answers: {run.unclean[:5]}; {seen}"
    assert run.database_503s > 0, f"no request saw the database down: the fault was not injected; {seen}"
    assert not run.refused, f"submits refused: {run.refused[:5]}; {seen}"
    assert not run.failed_after_back, (
        f"failures once the server was back: {run.failed_after_back[:5]}; {seen}"
    )
    assert run.recovered == set(range(LABELLERS)), f"labellers never served again: {seen}"

    with postgres_server.admin("labelapp") as admin, admin.cursor() as cursor:
        cursor.execute("SELECT id, item_id, labeller_id, idempotency_key FROM labelapp_label")
        labels = cursor.fetchall()
        cursor.execute("SELECT id, label_count FROM labelapp_item")
        label_counts = dict(cursor.fetchall())
        cursor.execute("SELECT item_id, labeller_id, expires_at > now() FROM labelapp_lease")
        leases = cursor.fetchall()

    # Every acknowledged label is stored as acknowledged; a stored label was acknowledged, or its request
    # never got an answer (the commit may have happened as the connection was cut).
    stored = {key: (label_id, item_id) for label_id, item_id, _, key in labels}
    lost = {key: ack for key, ack in run.acked.items() if stored.get(key) != ack}
    assert not lost, f"acknowledged labels missing or different in the database: {list(lost.items())[:5]}"
    unexplained = set(stored) - set(run.acked) - run.unanswered
    assert not unexplained, f"labels stored that no request asked for: {sorted(unexplained)[:5]}"

    # No partial write: the label, its lease's end and the item's count went together.
    per_item = Counter(item_id for _, item_id, _, _ in labels)
    assert {item: count for item, count in label_counts.items() if count} == dict(per_item), (
        "items whose label_count differs from their labels"
    )
    labelled = {(item_id, labeller_id) for _, item_id, labeller_id, _ in labels}
    assert len(labelled) == len(labels), "a labeller labelled an item twice"
    assert not [lease for lease in leases if lease[:2] in labelled], (
        "a labelled item kept its labeller's lease"
    )
    live = Counter(item_id for item_id, _, is_live in leases if is_live)
    crowded = {
        item: (per_item[item], live[item]) for item in per_item | live if per_item[item] + live[item] > K
    }
    assert not crowded, f"items with labels + live leases over {K} (labels, leases): {crowded}"
    assert len(run.acked) >= LABELLERS, f"hardly any labels: {seen}"
    print(
        f"{len(run.acked)} labels acknowledged, {run.database_503s} clean 503s naming the database, "
        f"{len(run.unanswered)} submits unanswered at the end ({len(run.unanswered & set(stored))} stored); "
        f"answers {dict(run.answers)}"
    )

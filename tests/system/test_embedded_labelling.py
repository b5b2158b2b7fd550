"""The embedded default serves a small team: ten labellers labelling at once through the label page.

`manage.py runserver` (threaded, as `make run` serves it) on a SQLite file with the app's settings (WAL, a
busy timeout, BEGIN IMMEDIATE), and ten labellers, each signed in and looping the page's htmx submit, which
stores the label and answers the next item, until nothing is left for them. Expected: every answer a 200
(no "database is locked", no 500), the campaign labelled to exactly k per item, no labeller twice on an
item, and every label a labeller was answered for stored.

`bench/labelling_load.py --backend sqlite --server runserver --labellers 10` measures the same setup's
labels/s and latency (BENCHMARKS.md).
"""

import http.client
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CAMPAIGN = "team"
K = 2
ITEMS = 60
LABELLERS = 10
ITEM_ID = re.compile(r'data-item-id="(\d*)"')


def seed() -> None:
    """Run in a subprocess against the server's database: the campaign, and ten signed-in labellers whose
    session keys it prints as JSON."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from labelapp.models import Campaign, Generator, Prompt
    from labelapp.services.items import items_build
    from labelapp.services.labellers import user_upsert
    from tests.factories import candidates_add

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # ten users, quickly
    campaign = Campaign.objects.create(name=CAMPAIGN, title="A small team", labels_per_item=K)
    generator = Generator.objects.create(name="fake-model", model="embedded")
    for number in range(ITEMS):
        prompt = Prompt.objects.create(campaign=campaign, text=f"Question {number}?")
        candidates_add(prompt, generator, [f"first answer {number}", f"second answer {number}"])
    items_build(campaign=campaign, kind="pairwise", seed=1)
    sessions = []
    for number in range(LABELLERS):
        user = user_upsert(username=f"member{number}", password=uuid.uuid4().hex)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        sessions.append(session.session_key)
    print(json.dumps(sessions))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Team:
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)  # answers other than 200, and exceptions
    labelled: Counter = field(default_factory=Counter)  # 200 answers to a submit, per session
    done: set[str] = field(default_factory=set)  # sessions told that nothing is left for them
    lock: threading.Lock = field(default_factory=threading.Lock)


def label_until_done(port: int, session_key: str, start: threading.Barrier, team: Team) -> None:
    """One labeller's browser: the label page, then the htmx submit of each item shown, until none is."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    cookie = f"sessionid={session_key}"
    try:
        connection.request("GET", f"/label/{CAMPAIGN}/", headers={"Cookie": cookie})
        answer = connection.getresponse()
        page = answer.read().decode()
        assert answer.status == 200, page[:300]
        cookie += "; csrftoken=" + re.search(r"csrftoken=([^;]+)", answer.getheader("Set-Cookie")).group(1)
        headers = {
            "Cookie": cookie,
            "HX-Request": "true",
            "X-CSRFToken": re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        start.wait(timeout=60)
        deadline = time.monotonic() + 120
        while (item := ITEM_ID.search(page).group(1)) and time.monotonic() < deadline:
            form = f"choice={'ab'[int(item) % 2]}&idempotency_key={uuid.uuid4().hex}"
            connection.request("POST", f"/label/{CAMPAIGN}/items/{item}/", body=form, headers=headers)
            answer = connection.getresponse()
            page = answer.read().decode()
            with team.lock:
                team.statuses[answer.status] += 1
                if answer.status != 200:
                    team.failures.append(f"{answer.status} on item {item}: {page[:300]}")
                    return
                team.labelled[session_key] += 1
        if 'id="no-items"' in page:
            with team.lock:
                team.done.add(session_key)
    except Exception as failure:  # noqa: BLE001 - reported by the test
        with team.lock:
            team.failures.append(f"{type(failure).__name__}: {failure}")
    finally:
        connection.close()


def test_ten_labellers_at_once_on_runserver_and_sqlite_get_no_error(tmp_path):
    database = tmp_path / "db.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "LABELAPP_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "test-only-" + uuid.uuid4().hex,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity=0"], cwd=REPO, env=env, check=True)
    seeded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from tests.system.test_embedded_labelling import seed; seed()",
        ],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    sessions = json.loads(seeded.stdout.strip().splitlines()[-1])

    port = free_port()
    log = tmp_path / "runserver.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        server_wait(port, server, log)
        team = Team()
        start = threading.Barrier(LABELLERS)
        threads = [
            threading.Thread(target=label_until_done, args=(port, key, start, team), daemon=True)
            for key in sessions
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
        assert not any(thread.is_alive() for thread in threads), "a labeller hung"
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a loaded machine: the labelling is what is checked, not the exit
            server.kill()
            server.wait()

    served = log.read_text(errors="replace")
    assert not team.failures, f"{len(team.failures)} failures: {team.failures[:3]}"
    assert "database is locked" not in served and "Traceback" not in served, served[-3000:]
    assert team.done == set(sessions), "a labeller stopped before nothing was left for them"
    with sqlite3.connect(database) as stored:
        per_item = dict(stored.execute("SELECT item_id, COUNT(*) FROM labelapp_label GROUP BY item_id"))
        per_labeller = Counter(
            dict(stored.execute("SELECT labeller_id, COUNT(*) FROM labelapp_label GROUP BY labeller_id"))
        )
        twice = stored.execute(
            "SELECT COUNT(*) FROM (SELECT 1 FROM labelapp_label GROUP BY item_id, labeller_id HAVING COUNT(*) > 1)"
        ).fetchone()[0]
    assert len(per_item) == ITEMS and set(per_item.values()) == {K}  # every item labelled, none past k
    assert twice == 0
    assert sorted(per_labeller.values()) == sorted(team.labelled.values())  # every answered label stored
    assert sum(team.statuses.values()) == ITEMS * K


def server_wait(port: int, server: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, f"runserver exited: {log.read_text(errors='replace')[-2000:]}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"runserver did not listen within {timeout:.0f} s")

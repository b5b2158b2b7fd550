"""A real Celery worker, on the configured broker, runs jobs queued from the command line and from the app."""

import functools
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CREATE = """
from labelapp.models import Campaign, Generator, Prompt
campaign = Campaign.objects.create(name="w")
Generator.objects.create(name="tiny", model="{model}", default_params={{"max_new_tokens": 4}})
for text in ("Say hi.", "Say bye.", "Count to two."):
    Prompt.objects.create(campaign=campaign, text=text)
"""


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, check=True, capture_output=True, text=True
    )


def app_env(tmp_path: Path) -> dict[str, str]:
    """A migrated app of its own: its own SQLite database (a worker cannot see the test database), and the
    broker whatever is configured: the embedded SQLite broker by default, Redis when CELERY_BROKER_URL says so."""
    env = {**os.environ, "LABELAPP_VAR_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    env.pop("DATABASE_URL", None)
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    manage(env, "migrate", "-v0")
    return env


def worker_run(env: dict[str, str], options: list[str], state: Callable[[], tuple]) -> str:
    """Run a Celery worker until the job's state (status first) leaves queued and running, at most 120 s;
    what the worker printed on stderr."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=WARNING", *options],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while state()[0] in {"queued", "running"} and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        worker.terminate()
        _, errors = worker.communicate(timeout=30)
    return errors


def job_state(database: Path) -> tuple[str, int, int] | None:
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT j.status, j.progress_done, (SELECT COUNT(*) FROM labelapp_candidate c WHERE c.job_id = j.id) "
            "FROM labelapp_generationjob j"
        ).fetchone()


def test_a_worker_on_the_inference_queue_runs_an_enqueued_job(tmp_path, tiny_model_dir):
    env = app_env(tmp_path)
    manage(env, "shell", "-c", CREATE.format(model=tiny_model_dir))
    manage(env, "generate_candidates", "--campaign", "w", "--generator", "tiny", "--n", "2", "--enqueue")
    state = functools.partial(job_state, tmp_path / "db.sqlite3")
    errors = worker_run(env, ["-Q", "inference", "--pool=solo"], state)
    assert state() == ("succeeded", 3, 6), errors[-2000:]


JUDGED_PAIRS = """
from labelapp.models import Campaign, Generator, Prompt
from labelapp.services.items import items_build
from tests.factories import candidates_add
campaign = Campaign.objects.create(name="j")
Generator.objects.create(name="tiny", model="{model}")
writer = Generator.objects.create(name="writer", model="embedded")
for n in range(3):
    candidates_add(Prompt.objects.create(campaign=campaign, text=f"Question {{n}}?"), writer, [f"yes {{n}}", f"no {{n}}"])
items_build(campaign=campaign, kind="pairwise", seed=1)
"""


def judge_state(database: Path) -> tuple[str, int, int, str] | None:
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT status, progress_done, (SELECT COUNT(*) FROM labelapp_judgelabel), error FROM labelapp_judgejob"
        ).fetchone()


def test_a_worker_on_the_inference_queue_runs_a_judge_job_queued_by_name(tmp_path, tiny_model_dir):
    env = app_env(tmp_path)
    manage(env, "shell", "-c", JUDGED_PAIRS.format(model=tiny_model_dir))
    manage(env, "judge_items", "--campaign", "j", "--generator", "tiny", "--enqueue")
    state = functools.partial(judge_state, tmp_path / "db.sqlite3")
    assert state()[0] == "queued"
    errors = worker_run(env, ["-Q", "inference", "--pool=solo"], state)
    assert state() == ("succeeded", 3, 6, ""), errors[
        -2000:
    ]  # a random model's verdicts, both orders: parse errors


MANY_PROMPTS = """
from labelapp.models import Campaign, Generator, Prompt
campaign = Campaign.objects.create(name="k")
Generator.objects.create(name="tiny", model="{model}", default_params={{"max_new_tokens": 48, "seed": 7}})
Prompt.objects.bulk_create(Prompt(campaign=campaign, text=f"Question {{i}}?") for i in range(60))
"""


def candidate_count(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT COUNT(*) FROM labelapp_candidate").fetchone()[0]


def test_a_generation_killed_mid_job_resumes_without_duplicates(tmp_path, tiny_model_dir):
    env = app_env(tmp_path)
    database = tmp_path / "db.sqlite3"
    manage(env, "shell", "-c", MANY_PROMPTS.format(model=tiny_model_dir))
    run = [
        sys.executable,
        "manage.py",
        "generate_candidates",
        "--campaign",
        "k",
        "--generator",
        "tiny",
        "--n",
        "3",
    ]
    doomed = subprocess.Popen(run, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while candidate_count(database) == 0 and time.monotonic() < deadline and doomed.poll() is None:
        time.sleep(0.02)
    doomed.kill()  # SIGKILL: no cleanup, the job is left "running" halfway
    doomed.wait()
    written = candidate_count(database)
    assert 0 < written < 180, "the kill should land mid-job"
    assert job_state(database)[0] == "running"

    manage(env, "generate_candidates", "--resume", "1")
    assert job_state(database) == ("succeeded", 60, 180)
    with sqlite3.connect(database) as connection:
        distinct = connection.execute(
            "SELECT COUNT(DISTINCT prompt_id || '-' || sample_index) FROM labelapp_candidate"
        ).fetchone()[0]
    assert distinct == 180


LABELLED_PAIRS = """
from django.contrib.auth.models import User
from labelapp.models import Campaign, Candidate, Generator, Item, ItemCandidate, Label, Prompt
from labelapp.services.exports import export_job_create
from labelapp.services.jobs import job_enqueue
campaign = Campaign.objects.create(name="e")
generator = Generator.objects.create(name="tiny", model="embedded", default_params={{}})
rater, staff = User.objects.create(username="rater"), User.objects.create(username="staff", is_staff=True)
prompts = Prompt.objects.bulk_create(Prompt(campaign=campaign, text=f"Question {{n}}?") for n in range({items}))
answers = Candidate.objects.bulk_create(
    Candidate(prompt=prompt, generator=generator, text=f"{{prompt.text}} answer {{n}}", sample_index=n)
    for prompt in prompts for n in range(2)
)
items = Item.objects.bulk_create(Item(campaign=campaign, kind="pairwise", prompt=prompt) for prompt in prompts)
ItemCandidate.objects.bulk_create(
    ItemCandidate(item=item, candidate=answers[2 * n + index], index=index, position=index)
    for n, item in enumerate(items) for index in range(2)
)
Label.objects.bulk_create(
    Label(item=item, labeller=rater, value={{"choice": "a", "strength": "clear", "rationale": ""}}, idempotency_key=str(item.pk))
    for item in items
)
job_enqueue(job=export_job_create(campaign=campaign, format="dpo", output="jsonl", options={{}}, created_by=staff))
"""


def export_state(database: Path) -> tuple[str, int, str] | None:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT status, progress_done, error FROM labelapp_export").fetchone()


@pytest.mark.parametrize("pool", ["solo", "prefork"])
def test_a_worker_runs_an_export_started_from_the_app_in_either_pool(tmp_path, pool):
    # 1,200 items make more than one part, so a solo worker forks export workers; a prefork pool's child
    # may not start processes and makes the parts itself.
    env = app_env(tmp_path)
    manage(env, "shell", "-c", LABELLED_PAIRS.format(items=1200))
    state = functools.partial(export_state, tmp_path / "db.sqlite3")
    errors = worker_run(env, ["-Q", "default", f"--pool={pool}", "--concurrency=2"], state)
    assert state() == ("succeeded", 1200, ""), errors[-2000:]
    exported = next((tmp_path / "exports").glob("e-dpo-*.jsonl")).read_text().splitlines()
    assert len(exported) == 1200 and '"chosen":"Question 0? answer 0"' in exported[0]


CONTINUED_CONVERSATION = """
from labelapp.models import Campaign, Generator, Prompt
from labelapp.services.items import items_build
from labelapp.services.labels import label_submit
from labelapp.services.labellers import user_upsert
from labelapp.services.leases import lease_next
from tests.factories import candidates_add
campaign = Campaign.objects.create(name="c", labels_per_item=1, continue_turns=1)
prompt = Prompt.objects.create(campaign=campaign, text="Say hi.")
for form, seed, text in (("chat", 3, "Hi!"), ("raw", 4, "Hello.")):
    generator = Generator.objects.create(name=form, model="{model}", prompt_format=form)
    [candidate] = candidates_add(prompt, generator, [text])
    candidate.params = {{"max_new_tokens": 4, "temperature": 1.0, "seed": seed, "n": 1}}
    candidate.save()
items_build(campaign=campaign, kind="pairwise", seed=1)
labeller = user_upsert(username="l1", password="correct horse battery")
item = lease_next(labeller=labeller, campaign=campaign)
label_submit(
    labeller=labeller, campaign="c", item_id=item.pk, value={{"choice": "a", "next_message": "And bye?"}},
    idempotency_key="k", lease_next=True,
)
"""


def continuation_state(database: Path) -> tuple:
    """("running", ...) until the continuation has run and its next turn is built, stopped or failed."""
    with sqlite3.connect(database) as connection:
        continuation = connection.execute(
            "SELECT status, stopped, error FROM labelapp_continuation"
        ).fetchone()
        jobs = [row[0] for row in connection.execute("SELECT status FROM labelapp_generationjob")]
        turns = connection.execute(
            "SELECT p.turn, p.messages FROM labelapp_item i JOIN labelapp_prompt p ON p.id = i.prompt_id"
        ).fetchall()
    if continuation is None:
        return ("queued",)
    status, stopped, error = continuation
    built = len(turns) == 2
    waiting = status in {"queued", "running"} or not (stopped or built or "failed" in jobs)
    return ("running" if waiting else "done", status, stopped, error, sorted(jobs), sorted(turns))


def test_a_worker_continues_a_conversation_from_the_preferred_reply(tmp_path, tiny_model_dir):
    env = app_env(tmp_path)
    manage(env, "shell", "-c", CONTINUED_CONVERSATION.format(model=tiny_model_dir))
    state = functools.partial(continuation_state, tmp_path / "db.sqlite3")
    assert state()[:2] == ("running", "queued")  # the label only recorded that the conversation goes on
    errors = worker_run(env, ["-Q", "default,inference", "--pool=solo"], state)
    done, status, stopped, error, jobs, turns = state()
    assert (done, status, stopped, error, jobs) == ("done", "succeeded", "", "", ["succeeded"] * 2), errors[
        -2000:
    ]
    assert [turn for turn, _ in turns] == [1, 2]
    assert json.loads(turns[1][1])[-1] == {"role": "user", "content": "And bye?"}

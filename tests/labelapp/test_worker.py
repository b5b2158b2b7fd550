"""A real Celery worker, on the configured broker, runs a job queued from the command line."""

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

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


def job_state(database: Path) -> tuple[str, int, int] | None:
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT j.status, j.prompts_done, (SELECT COUNT(*) FROM labelapp_candidate c WHERE c.job_id = j.id) "
            "FROM labelapp_generationjob j"
        ).fetchone()


def test_a_worker_on_the_inference_queue_runs_an_enqueued_job(tmp_path, tiny_model_dir):
    # Its own SQLite database (the worker cannot see the test database); the broker is whatever is configured:
    # the embedded SQLite broker by default, Redis when CELERY_BROKER_URL says so.
    env = {**os.environ, "LABELAPP_VAR_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    env.pop("DATABASE_URL", None)
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    manage(env, "migrate", "-v0")
    manage(env, "shell", "-c", CREATE.format(model=tiny_model_dir))
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            "inference",
            "--pool=solo",
            "--loglevel=WARNING",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        manage(env, "generate_candidates", "--campaign", "w", "--generator", "tiny", "--n", "2", "--enqueue")
        deadline = time.monotonic() + 120
        while (state := job_state(tmp_path / "db.sqlite3"))[0] in {
            "queued",
            "running",
        } and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        worker.terminate()
        _, errors = worker.communicate(timeout=30)
    assert state == ("succeeded", 3, 6), errors[-2000:]

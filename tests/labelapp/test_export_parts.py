"""Exports made in parts, by worker processes when the data is committed and readable by them."""

import dataclasses
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from labelapp import export_parts, exporters
from labelapp.exporters.options import export_options_parse
from labelapp.models import Item
from labelapp.selectors.records import ItemRange, item_ranges
from labelapp.services.exports import dataset_export
from tests.labelapp.exporters.conftest import prompts_with_pairs, read_jsonl, vote

REPO = Path(exporters.__file__).resolve().parents[2]


def test_item_ranges_cut_the_exported_items_into_consecutive_ranges(campaign, generator, raters):
    items = prompts_with_pairs(campaign, generator, [f"Q{n}" for n in range(10)])
    Item.objects.filter(pk=items[4].pk).update(is_gold=True)  # never exported, so never counted
    exported = sorted(item.pk for item in items if item.pk != items[4].pk)

    ranges = list(item_ranges(campaign=campaign, kind="pairwise", size=4))

    assert ranges == [
        ItemRange(0, exported[3]),
        ItemRange(exported[3], exported[7]),
        ItemRange(exported[7], None),
    ]


def test_parts_are_small_enough_to_keep_every_worker_busy():
    assert export_parts.part_size(items=500_000, workers=2) == export_parts.PART_ITEMS == 10_000
    assert export_parts.part_size(items=50_000, workers=2) == 6_250  # 8 parts, 4 each
    assert export_parts.part_size(items=50_000, workers=1) == 10_000
    assert export_parts.part_size(items=300, workers=4) == export_parts.SMALLEST_PART_ITEMS


def _pid_recording_dpo(monkeypatch, pids: Path) -> None:
    """dpo, noting which process made each row (forked workers inherit the patch)."""
    dpo = exporters.FORMATS["dpo"]

    def rows(records, options):
        for row in dpo.rows(records, options):
            with pids.open("a") as noted:
                noted.write(f"{os.getpid()}\n")
            yield row

    monkeypatch.setitem(exporters.FORMATS, "dpo", dataclasses.replace(dpo, rows=rows))


@pytest.mark.django_db(transaction=True)
def test_workers_write_the_same_files_as_one_process(campaign, generator, raters, monkeypatch, tmp_path):
    items = prompts_with_pairs(campaign, generator, [f"Question {n}" for n in range(40)])
    for n, item in enumerate(items):
        vote(item, raters[0], "ab"[n % 2], "clear")
        vote(item, raters[1], "a" if n % 3 else "tie")
    monkeypatch.setattr(export_parts, "PART_ITEMS", 6)  # 7 parts
    pids = tmp_path / "pids"
    _pid_recording_dpo(monkeypatch, pids)
    options = export_options_parse({"test_fraction": 0.3, "seed": 3})

    outs, cards, rows = {}, {}, {}
    for workers in (1, 3):
        outs[workers] = tmp_path / f"w{workers}" / "prefs.jsonl"
        done = dataset_export(
            campaign=campaign, format="dpo", out=outs[workers], options=options, workers=workers
        )
        rows[workers] = done.rows
        card = outs[workers].with_name("prefs.README.md").read_text().replace(str(outs[workers]), "OUT")
        cards[workers] = re.sub(r"exported \S+", "", card)

    assert rows[1] == rows[3] > 10
    for split in ("train", "test"):
        one, several = (out.with_name(f"prefs-{split}.jsonl") for out in outs.values())
        assert one.read_bytes() == several.read_bytes() and read_jsonl(one)
    assert cards[1] == cards[3] and "| train | " in cards[1]
    rows_by = [int(pid) for pid in pids.read_text().split()]
    one_process, several = set(rows_by[: rows[1]]), set(rows_by[rows[1] :])
    assert one_process == {os.getpid()}
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        assert several == {os.getpid()}  # a forked worker could not read an in-memory database
    else:
        assert len(several) >= 2 and os.getpid() not in several
    assert not list(tmp_path.glob("w*/.prefs*"))  # no staging left


def test_inside_a_transaction_parts_are_made_here(campaign, generator, raters, monkeypatch, tmp_path):
    items = prompts_with_pairs(campaign, generator, [f"Q{n}" for n in range(8)])
    for item in items:
        vote(item, raters[0], "a")
    monkeypatch.setattr(export_parts, "PART_ITEMS", 3)
    pids = tmp_path / "pids"
    _pid_recording_dpo(monkeypatch, pids)

    done = dataset_export(campaign=campaign, format="dpo", out=tmp_path / "p.jsonl", workers=4)

    assert done.rows == 8 and [row["item_id"] for row in read_jsonl(tmp_path / "p.jsonl")] == sorted(
        item.pk for item in items
    )
    assert set(pids.read_text().split()) == {str(os.getpid())}  # workers would not see these rows


# Runs the command on a SQLite file, as a user does: `--workers 2` against `--workers 1`, then killed.
WORKERS_EXPORT = """
import os, sys, time, dataclasses
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
call_command("shell", command='''
from labelapp.models import Campaign, Generator, Prompt, Item, Label
from labelapp.services.items import items_build
from labelapp.services.labellers import user_upsert
from tests.factories import candidates_add
c = Campaign.objects.create(name="w")
g = Generator.objects.create(name="g", model="embedded")
u = user_upsert(username="r", password="correct horse battery")
for n in range(120):
    candidates_add(Prompt.objects.create(campaign=c, text=f"Q{n}"), g, [f"x{n}", f"y{n}"])
items_build(campaign=c, kind="pairwise", seed=1)
for item in Item.objects.all():
    Label.objects.create(item=item, labeller=u, value={"choice": "ab"[item.pk % 2]}, idempotency_key=str(item.pk))
''')
from labelapp import export_parts, exporters
export_parts.PART_ITEMS = 10
dpo = exporters.FORMATS["dpo"]
def rows(records, options):
    with open(sys.argv[2], "a") as noted:
        noted.write(f"{os.getpid()}\\n")
    for row in dpo.rows(records, options):
        time.sleep(float(sys.argv[4]))
        yield row
exporters.FORMATS["dpo"] = dataclasses.replace(dpo, rows=rows)
for workers in sys.argv[3].split(","):
    out = sys.argv[1].replace("WORKERS", workers)
    call_command("export_dataset", campaign="w", format="dpo", out=out, workers=int(workers), no_progress=True)
"""


def _workers_export(tmp_path: Path, workers: str, pause: float) -> subprocess.Popen:
    env = {**os.environ, "LABELAPP_VAR_DIR": str(tmp_path / "var"), "HF_HUB_OFFLINE": "1"}
    env.pop("DATABASE_URL", None)
    out, pids = str(tmp_path / "WORKERS" / "prefs.jsonl"), str(tmp_path / "pids")
    script = [sys.executable, "-c", WORKERS_EXPORT, out, pids, workers, str(pause)]
    return subprocess.Popen(script, cwd=REPO, env=env, stderr=subprocess.PIPE)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")


def test_the_command_on_a_sqlite_file_makes_parts_in_workers(tmp_path):
    process = _workers_export(tmp_path, "2,1", pause=0)
    assert process.wait(timeout=300) == 0, process.stderr.read().decode()[-3000:]

    several, one = tmp_path / "2" / "prefs.jsonl", tmp_path / "1" / "prefs.jsonl"
    assert several.read_bytes() == one.read_bytes() and len(read_jsonl(several)) == 120
    made_by = [int(pid) for pid in (tmp_path / "pids").read_text().split()]
    assert len(made_by) == 2 * 13  # 12 parts of 10 items, and the open-ended last one, each time
    assert len(set(made_by[:13])) == 2 and process.pid not in made_by[:13]
    assert set(made_by[13:]) == {process.pid}


def test_workers_stop_when_the_export_is_killed(tmp_path):
    process = _workers_export(tmp_path, "2", pause=0.5)
    pids = tmp_path / "pids"
    deadline = time.monotonic() + 120
    while len(set(pids.read_text().split()) if pids.exists() else ()) < 2:
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read().decode()[-2000:]
        time.sleep(0.2)
    workers = {int(pid) for pid in pids.read_text().split()}

    process.send_signal(signal.SIGKILL)
    process.wait()

    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)
    assert not (tmp_path / "2" / "prefs.jsonl").exists()


@pytest.mark.django_db(transaction=True)
def test_parquet_and_dataset_outputs_join_their_parts_in_order(
    campaign, generator, raters, monkeypatch, tmp_path
):
    import datasets
    import pyarrow.parquet as pq

    items = prompts_with_pairs(campaign, generator, [f"Question {n}" for n in range(30)])
    for n, item in enumerate(items):
        vote(item, raters[0], "ab"[n % 2], "slight")
    monkeypatch.setattr(export_parts, "PART_ITEMS", 4)  # 8 parts
    expected = sorted(item.pk for item in items)

    for workers in (1, 2):
        dataset_export(campaign=campaign, format="rm", out=tmp_path / f"rm{workers}.parquet", workers=workers)
        dataset_export(campaign=campaign, format="dpo", out=tmp_path / f"dpo{workers}", workers=workers)

    tables = [pq.read_table(tmp_path / f"rm{workers}.parquet") for workers in (1, 2)]
    assert tables[0].equals(tables[1]) and tables[0].column("item_id").to_pylist() == expected
    folders = [datasets.load_from_disk(str(tmp_path / f"dpo{workers}"))["train"] for workers in (1, 2)]
    assert folders[0]["item_id"] == folders[1]["item_id"] == expected
    assert folders[0]["chosen"] == folders[1]["chosen"]
    assert not list(tmp_path.glob(".*partial*"))

"""Outside a transaction (the command line, a worker), an export reads each next chunk in a second thread
on its own connection while it writes this one; the file is the same as one read chunk after chunk."""

import threading

import pytest
from django.db import connections, transaction

from labelapp.models import Adjudication, Campaign, Label, Prompt
from labelapp.selectors import records
from labelapp.services.items import items_build
from tests.factories import candidates_add
from tests.labelapp.exporters.conftest import export, prompts_with_pairs, read_jsonl, texts, vote

QUESTIONS = [f"Question {n}?" for n in range(7)]


@pytest.fixture
def chunked(monkeypatch):
    monkeypatch.setattr(records, "CHUNK_SIZE", 2)  # 7 items: 4 chunks


@pytest.mark.django_db(transaction=True)
def test_an_export_read_ahead_writes_what_a_sequential_one_writes(
    chunked, campaign, generator, raters, tmp_path, monkeypatch
):
    items = prompts_with_pairs(campaign, generator, QUESTIONS)
    for number, item in enumerate(items):
        vote(item, raters[0], "ab"[number % 2], "clear")
        vote(item, raters[1], "a" if number % 3 else "tie")
    read_in = []
    chunks = records._item_chunks

    def recording(*args, **kwargs):
        for chunk in chunks(*args, **kwargs):
            read_in.append(threading.current_thread().name)
            yield chunk

    monkeypatch.setattr(records, "_item_chunks", recording)

    export(campaign, "raw", tmp_path / "ahead.jsonl")
    ahead = set(read_in)
    read_in.clear()
    with transaction.atomic():  # inside a transaction: read in this thread, chunk after chunk
        export(campaign, "raw", tmp_path / "sequential.jsonl")

    assert ahead == {name for name in ahead if name.startswith("export-reads")} and len(ahead) == 1
    assert set(read_in) == {threading.current_thread().name}
    written = (tmp_path / "ahead.jsonl").read_text()
    assert written == (tmp_path / "sequential.jsonl").read_text() and written.count("\n") == 14


@pytest.mark.django_db(transaction=True)
def test_a_failed_read_ahead_fails_the_export_and_closes_its_connection(
    chunked, campaign, generator, raters, tmp_path, monkeypatch
):
    items = prompts_with_pairs(campaign, generator, QUESTIONS)
    for item in items:
        vote(item, raters[0], "a")
    reader_connections, closed_by = [], []
    close_all = connections.close_all

    def failing(first, last, selection, label_of):
        reader_connections.append(connections["default"])
        raise RuntimeError(f"the database went away reading items {first}-{last}")

    def recorded_close_all():
        closed_by.append(threading.current_thread().name)
        close_all()

    monkeypatch.setattr(records, "_labels_of", failing)
    monkeypatch.setattr(connections, "close_all", recorded_close_all)
    with pytest.raises(RuntimeError, match="went away"):
        export(campaign, "dpo", tmp_path / "dpo.jsonl")
    assert not (tmp_path / "dpo.jsonl").exists()
    (reader,) = reader_connections
    assert reader is not connections["default"] and closed_by[0].startswith("export-reads")
    # Django keeps an in-memory SQLite database (the tests' own) open; any other connection is closed.
    if reader.vendor != "sqlite" or not reader.is_in_memory_db():
        assert reader.connection is None


# Adjudication: a reviewer's final label is the item's consensus


def test_an_adjudicated_item_exports_the_reviewers_label_and_the_card_counts_it(
    campaign, generator, raters, tmp_path
):
    split, agreed, unsettled = prompts_with_pairs(campaign, generator, ["Split?", "Agreed?", "Unsettled?"])
    for item, choices in ((split, "ab"), (agreed, "aa"), (unsettled, "ab")):
        for rater, choice in zip(raters, choices, strict=False):
            vote(item, rater, choice)
    Adjudication.objects.create(item=split, reviewer=raters[2], value={"choice": "b", "rationale": ""})
    export(campaign, "dpo", tmp_path / "dpo.jsonl", min_agreement=0.75)
    rows = read_jsonl(tmp_path / "dpo.jsonl")
    assert [row["id"] for row in rows] == [f"prefs-{split.pk}", f"prefs-{agreed.pk}"]
    assert rows[0]["chosen"] == texts(split)[1] and rows[0]["rejected"] == texts(split)[0]
    assert (rows[0]["agreement"], rows[0]["label_count"]) == (0.5, 2)  # the labellers' own agreement
    card = (tmp_path / "dpo.README.md").read_text()
    assert "- Adjudicated items: 1 " in card


def test_a_correctness_item_takes_the_reviewers_verdict(generator, raters):
    campaign = Campaign.objects.create(name="facts", kind="correctness", labels_per_item=2)
    prompt = Prompt.objects.create(campaign=campaign, text="2 + 2?")
    candidates_add(prompt, generator, ["4"])
    items_build(campaign=campaign, kind="correctness", seed=1)
    item = campaign.items.get()
    for rater, verdict in zip(raters, ("correct", "incorrect"), strict=False):
        Label.objects.create(
            item=item, labeller=rater, value={"verdict": verdict}, idempotency_key=rater.username
        )
    Adjudication.objects.create(item=item, reviewer=raters[2], value={"verdict": "correct"})
    (record,) = records.export_records(campaign=campaign, selection=records.Selection())
    assert (record.outcome, record.aggregate.verdict, record.agreement) == ("correct", "correct", 0.5)

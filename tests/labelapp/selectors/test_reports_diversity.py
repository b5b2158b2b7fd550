"""The diversity report on the seeded set-wise campaign of tests/labelapp/reports/seed.py: embeddings
computed once and stored (the command, or a worker from the page), never by a page; every section."""

import json
import re

import numpy as np
import pytest
from django.core.management import call_command

from labelapp.models import Candidate, CandidateEmbedding
from labelapp.reports import embeddings
from labelapp.reports.embeddings import vector_from_bytes
from labelapp.selectors.reports import diversity_report_for
from labelapp.services.embeddings import candidate_embeddings_compute
from tests.labelapp.reports.seed import hashed_words, setwise_campaign


class CountingEmbedder:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, texts):
        self.texts.extend(texts)
        return hashed_words(texts)


@pytest.fixture
def embedder(monkeypatch) -> CountingEmbedder:
    fake = CountingEmbedder()
    monkeypatch.setattr(embeddings, "text_embeddings", fake)
    return fake


@pytest.fixture
def sets(labeller, other_labeller):
    return setwise_campaign([labeller, other_labeller])


def _report(out, *extra):
    call_command("report", "--campaign", "sets", "--kind", "diversity", "--out", str(out), *extra)
    return out.read_text()


def test_the_command_embeds_what_is_missing_then_reports_every_section(sets, embedder, tmp_path):
    data = json.loads(_report(tmp_path / "diversity.json"))
    assert len(embedder.texts) == 21  # 7 sets of 3 samples; the gold item's are never embedded
    assert (data["candidates"], data["candidates_embedded"], data["sets_judged"]) == (21, 21, 6)
    metrics = data["metrics"]
    assert len(metrics["sets"]) == 7
    groups = [(g["generator"], g["temperature"]) for g in metrics["groups"]]
    assert groups == [("big", 0.7), ("small", 0.3), ("small", 1.0)]
    big, cold, hot = metrics["groups"]
    assert (big["sets"], big["judged_sets"], big["human_diversity"]) == (3, 2, pytest.approx(2.25))
    assert cold["human_diversity"] == pytest.approx(1.75) and hot["human_diversity"] == pytest.approx(4.25)
    assert cold["human_low"] < cold["human_diversity"] < cold["human_high"]
    assert hot["vendi"] > cold["vendi"] and hot["distinct_1"] > cold["distinct_1"]
    assert set(metrics["correlations"]) == {
        "distinct_1",
        "distinct_2",
        "self_bleu",
        "embedding_distance",
        "vendi",
    }
    assert metrics["correlations"]["vendi"]["n"] == 6 and metrics["correlations"]["vendi"]["rho"] > 0.5
    assert metrics["correlations"]["self_bleu"]["rho"] < -0.5
    collapsed = [(c["generator"], c["temperature"], c["prompt"], c["answer"]) for c in data["collapsed"]]
    assert collapsed == [
        ("big", 0.7, "Name a colour.", "My favourite colour is blue."),
        ("small", 0.3, "What is the capital of France?", "Paris."),
    ]
    assert data["collapsed"][0]["samples"] == 3

    again = json.loads(_report(tmp_path / "again.json"))
    assert len(embedder.texts) == 21  # stored: nothing embedded twice
    assert again["metrics"] == metrics


def test_stored_embeddings_are_the_model_output_and_stale_ones_are_replaced(sets, embedder):
    run = candidate_embeddings_compute(campaign=sets)
    assert (run.progress_done, run.already) == (21, 0)
    candidate = Candidate.objects.get(text="Deep red.")
    stored = CandidateEmbedding.objects.get(candidate=candidate)
    assert np.allclose(vector_from_bytes(stored.vector), hashed_words(["Deep red."])[0])
    candidate.text = "Deep crimson red."
    candidate.save()
    report = diversity_report_for(campaign=sets)
    assert report.candidates_embedded == 20  # the edited text's embedding no longer counts
    edited_set = next(row for row in report.metrics.sets if row.item_id == candidate.slots.get().item_id)
    assert edited_set.vendi is None and edited_set.distinct_1 is not None
    run = candidate_embeddings_compute(campaign=sets)
    assert (run.progress_done, run.already) == (1, 20) and embedder.texts[-1] == "Deep crimson red."
    assert CandidateEmbedding.objects.count() == 21


def test_the_page_never_embeds_and_offers_a_worker(
    sets, embedder, staff, client_for, settings, django_capture_on_commit_callbacks
):
    client = client_for(staff)
    page = client.get("/manage/sets/reports/diversity/").content.decode()
    assert embedder.texts == []
    assert "0 of 21 samples embedded" in page and "Embed the missing samples on a worker" in page
    assert page.count('class="report-chart scatter"') == 5
    assert page.count('class="report-chart interval-chart"') == 1
    vendi = re.search(r'<figure data-metric="vendi">.*?</figure>', page, re.S).group(0)
    assert "n = 0" in vendi and 'class="point"' not in vendi
    assert not re.search(r"<style|style=|<script>|<script(?![^>]*src=)", page)

    settings.CELERY_TASK_ALWAYS_EAGER = True
    with django_capture_on_commit_callbacks(execute=True):
        queued = client.post("/manage/sets/reports/diversity/embeddings/", follow=True)
    assert "Queued: a worker on queue" in queued.content.decode()
    assert len(embedder.texts) == 21
    page = client.get("/manage/sets/reports/diversity/").content.decode()
    assert "21 of 21 samples embedded" in page and "Embed the missing" not in page
    vendi = re.search(r'<figure data-metric="vendi">.*?</figure>', page, re.S).group(0)
    assert "n = 6" in vendi and vendi.count('class="point"') == 6
    assert page.count('<article class="case"') == 2 and "My favourite colour is blue." in page


def test_the_embedding_button_is_for_set_wise_campaigns_and_staff(
    sets, campaign, staff, labeller, client_for
):
    assert client_for(labeller).post("/manage/sets/reports/diversity/embeddings/").status_code == 403
    assert client_for(staff).get("/manage/sets/reports/diversity/embeddings/").status_code == 405
    assert client_for(staff).post("/manage/prefs/reports/diversity/embeddings/").status_code == 400


def test_the_standalone_page_has_every_chart(sets, embedder, tmp_path):
    page = _report(tmp_path / "diversity.html")
    assert page.count('class="report-chart scatter"') == 5
    assert "21 of 21 samples embedded" in page
    assert "<form" not in page and "<script" not in page
    assert page.count('<tr data-generator="') == 3


@pytest.mark.embedded_model
def test_the_real_model_embeds_a_campaign(sets):
    candidate_embeddings_compute(campaign=sets)
    report = diversity_report_for(campaign=sets)
    assert report.candidates_embedded == 21
    collapsed = [row for row in report.metrics.sets if row.all_identical]
    assert all(row.vendi == pytest.approx(1.0, abs=1e-3) for row in collapsed)


def test_the_diversity_selector_reads_in_a_fixed_number_of_queries(sets, embedder, django_assert_num_queries):
    candidate_embeddings_compute(campaign=sets)
    # The sets' samples, their ratings, the stored embeddings, the collapsed sets' prompts.
    with django_assert_num_queries(4):
        diversity_report_for(campaign=sets)

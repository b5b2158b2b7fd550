"""The staff API that sets a campaign up, as a notebook runs the loop: generators, campaigns, generation
jobs, item builds and reports."""

import pytest

from labelapp.models import Campaign, GenerationJob, Generator, JobStatus, Prompt
from labelapp.services.generation import generation_job_run
from labelapp.services.labels import label_submit
from labelapp.services.leases import lease_next
from tests.labelapp.test_apis import api_as


def test_staff_create_and_list_generators_and_campaigns(staff, labeller):
    client = api_as(staff)
    made = client.post(
        "/api/v1/generators/",
        {"name": "qa", "model": "embedded", "prompt_format": "raw", "params": {"max_new_tokens": 8}},
        format="json",
    )
    assert made.status_code == 201 and made.json()["params"] == {"max_new_tokens": 8}
    made = client.post(
        "/api/v1/campaigns/",
        {"name": "facts", "kind": "correctness", "labels_per_item": 1, "labellers": ["labeller1"]},
        format="json",
    )
    assert made.status_code == 201 and made.json()["kind"] == "correctness"

    assert [g["name"] for g in client.get("/api/v1/generators/").json()] == ["qa"]
    assert [c["name"] for c in client.get("/api/v1/campaigns/").json()] == ["facts"]
    assert Campaign.objects.get(name="facts").required_skills == ["campaign:facts"]
    assert "campaign:facts" in labeller.labeller_profile.skills


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/api/v1/generators/",
            {"name": "g", "model": "embedded", "params": {"temprature": 1}},
            "default_params",
        ),
        ("/api/v1/generators/", {"name": "g", "model": "x", "backend": "tgi"}, "__all__"),
        ("/api/v1/campaigns/", {"name": "Not A Name"}, "name"),
        ("/api/v1/campaigns/", {"name": "ok", "labellers": ["nobody"]}, "labellers"),
        ("/api/v1/campaigns/", {"name": "ok", "labels_per_item": 3, "min_labels": 4}, "min_labels"),
        ("/api/v1/campaigns/", {"name": "ok", "kind": "ranking", "selection": "active"}, "__all__"),
    ],
)
def test_a_bad_setup_is_a_400_naming_the_field_and_stores_nothing(path, body, field, staff):
    response = api_as(staff).post(path, body, format="json")
    assert response.status_code == 400 and response.json()["extra"]["field"] == field, response.json()
    assert not Generator.objects.exists() and not Campaign.objects.exists()


def test_staff_create_a_campaign_with_adaptive_overlap(staff):
    made = api_as(staff).post(
        "/api/v1/campaigns/",
        {
            "name": "adaptive",
            "labels_per_item": 3,
            "min_labels": 2,
            "agreement_to_stop": 1,
            "judge_prelabel": True,
        },
        format="json",
    )
    assert made.status_code == 201, made.json()
    body = made.json()
    assert (
        body["labels_per_item"],
        body["min_labels"],
        body["agreement_to_stop"],
        body["judge_prelabel"],
    ) == (
        3,
        2,
        1.0,
        True,
    )


def test_an_agreement_to_stop_above_one_is_a_400_naming_it(staff):
    response = api_as(staff).post(
        "/api/v1/campaigns/", {"name": "ok", "min_labels": 1, "agreement_to_stop": 1.5}, format="json"
    )
    assert response.status_code == 400 and "agreement_to_stop" in response.json()["extra"]["fields"]
    assert not Campaign.objects.exists()


def test_staff_create_a_campaign_with_active_selection(staff):
    client = api_as(staff)
    made = client.post("/api/v1/campaigns/", {"name": "arena", "selection": "active"}, format="json")
    assert made.status_code == 201 and made.json()["selection"] == "active"
    assert Campaign.objects.get(name="arena").selection == "active"
    refused = client.post("/api/v1/campaigns/", {"name": "ok", "selection": "clever"}, format="json")
    assert refused.status_code == 400 and "selection" in refused.json()["extra"]["fields"]


def test_staff_create_a_campaign_whose_disagreements_go_to_reviewers(staff):
    client = api_as(staff)
    made = client.post("/api/v1/campaigns/", {"name": "judged", "review_below": 0.7}, format="json")
    assert made.status_code == 201 and made.json()["review_below"] == 0.7
    assert Campaign.objects.get(name="judged").review_below == 0.7
    plain = client.post("/api/v1/campaigns/", {"name": "plain"}, format="json").json()
    assert plain["review_below"] is None
    refused = client.post("/api/v1/campaigns/", {"name": "odd", "review_below": 1.5}, format="json")
    assert refused.status_code == 400 and "review_below" in refused.json()["extra"]["fields"]
    assert not Campaign.objects.filter(name="odd").exists()


def test_labellers_may_not_set_campaigns_up(labeller):
    client = api_as(labeller)
    assert client.post("/api/v1/campaigns/", {"name": "mine"}, format="json").status_code == 403
    assert client.get("/api/v1/generators/").status_code == 403
    assert not Campaign.objects.exists()


def test_staff_run_the_loop_generate_build_label_report(campaign, generator, staff, labeller, fake_generate):
    for number in range(2):
        Prompt.objects.create(campaign=campaign, text=f"Question {number}?")
    client = api_as(staff)
    started = client.post(
        f"/api/v1/campaigns/{campaign.name}/generation-jobs/",
        {"generator": generator.name, "n": 2, "temperatures": [0.3, 1.0], "seed": 1},
        format="json",
    )
    assert started.status_code == 202
    jobs = started.json()
    assert [job["params"]["temperature"] for job in jobs] == [0.3, 1.0]
    assert {job["status"] for job in jobs} == {"queued"}
    for job in jobs:  # what a worker on queue 'inference' does
        generation_job_run(job_id=job["id"])
    status = client.get(f"/api/v1/campaigns/{campaign.name}/generation-jobs/{jobs[0]['id']}/").json()
    assert status["status"] == JobStatus.SUCCEEDED and status["progress_done"] == 2

    built = client.post(f"/api/v1/campaigns/{campaign.name}/item-builds/", {"seed": 1}, format="json")
    # Per prompt, 2 samples at each of 2 temperatures: 6 pairs, of which the fake's same texts make 2.
    assert built.json() == {"created": 8, "already_built": 0, "skipped_identical": 4}

    while (item := lease_next(labeller=labeller, campaign=campaign)) is not None:
        label_submit(
            labeller=labeller,
            campaign=campaign.name,
            item_id=item.pk,
            value={"choice": "a"},
            idempotency_key=str(item.pk),
            lease_next=False,
        )
    report = client.get(f"/api/v1/campaigns/{campaign.name}/reports/leaderboard/")
    assert report.status_code == 200
    assert report.json()["campaign"] == campaign.name and report.json()["by_config"]["comparisons"] >= 1


def test_an_unknown_generator_or_report_is_a_404_naming_it(campaign, staff):
    client = api_as(staff)
    response = client.post(
        f"/api/v1/campaigns/{campaign.name}/generation-jobs/", {"generator": "nope"}, format="json"
    )
    assert response.status_code == 404 and "Generator 'nope' does not exist" in response.json()["message"]
    response = client.get(f"/api/v1/campaigns/{campaign.name}/reports/vibes/")
    assert response.status_code == 404 and "Unknown report kind 'vibes'" in response.json()["message"]
    assert not GenerationJob.objects.exists()


def test_staff_start_a_best_of_n_job_and_a_bad_selection_is_a_400_naming_select(
    campaign, generator, staff, fake_generate
):
    Prompt.objects.create(campaign=campaign, text="Question?")
    client = api_as(staff)
    url = f"/api/v1/campaigns/{campaign.name}/generation-jobs/"
    refused = client.post(
        url, {"generator": generator.name, "n": 4, "strategy": "best-of-n", "select": "best"}, format="json"
    )
    assert refused.status_code == 400 and refused.json()["extra"]["field"] == "select"
    assert "'best' is not a selection method" in refused.json()["message"]
    assert not GenerationJob.objects.exists()

    started = client.post(
        url,
        {"generator": generator.name, "n": 4, "strategy": "best-of-n", "select": "logprob"},
        format="json",
    )
    assert started.status_code == 202
    (job,) = started.json()
    assert (job["strategy"], job["selection"]) == ("best-of-n", "logprob")
    generation_job_run(job_id=job["id"])
    selected = campaign.prompts.get().candidates.filter(selection__selected=True)
    assert selected.count() == 1

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from labelapp.models import Candidate, Item, JobStatus, Label, Lease, Prompt
from labelapp.services.items import items_build
from labelapp.services.labellers import labeller_suspend, user_upsert
from tests.labelapp.importers.conftest import FILES

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.mark.parametrize("path", ["/", "/label/prefs/", "/manage/prefs/", "/admin/"])
def test_every_page_but_login_needs_a_login(client, campaign, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.get("/accounts/login/").status_code == 200


def test_a_labeller_sees_a_pair_side_by_side_with_the_keys(campaign, pairwise_items, labeller, client_for):
    page = client_for(labeller).get("/label/prefs/")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('class="candidate"') == 2 and "Response A" in html and "Response B" in html
    assert "<kbd>1</kbd> A is better" in html and "<kbd>q</kbd> Slightly" in html
    assert "<em>fair</em>" in html  # instructions rendered from Markdown
    assert "htmx-2.0.8.min.js" in html and "X-CSRFToken" in html


def test_htmx_submit_answers_the_next_item_fragment_only(campaign, pairwise_items, labeller, client_for):
    client = client_for(labeller)
    client.get("/label/prefs/")
    first = labeller.leases.get().item
    response = client.post(
        f"/label/prefs/items/{first.pk}/", {"choice": "tie", "idempotency_key": "k1"}, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert html.startswith('\n<div id="item"') or html.lstrip().startswith('<div id="item"')
    assert f'data-item-id="{first.pk}"' not in html and Label.objects.get().value["choice"] == "tie"


def test_the_htmx_submit_takes_a_fixed_number_of_queries(
    campaign, pairwise_items, generator, labeller, client_for, django_assert_num_queries
):
    """The label and the next lease in one transaction, then the next item's fragment; more items in the
    campaign add no query."""
    client = client_for(labeller)
    client.get("/label/prefs/")
    # session, user, standing, campaign, (savepoint), lease + item + campaign + shown order, label write
    # (three statements on SQLite), my lease, open items, lease insert, (release), my labels, labels, items,
    # shown candidates, prompt
    expected = 18 if connection.vendor == "sqlite" else 16
    for number in range(2):
        item = labeller.leases.get().item
        with django_assert_num_queries(expected):
            response = client.post(
                f"/label/prefs/items/{item.pk}/", {"choice": "a", "idempotency_key": f"k{number}"}, **HTMX
            )
        assert response.status_code == 200 and f'data-item-id="{item.pk}"' not in response.content.decode()
        prompt = Prompt.objects.create(campaign=campaign, text=f"One more question {number}?")
        Candidate.objects.bulk_create(
            Candidate(prompt=prompt, generator=generator, text=f"answer {side}", sample_index=side)
            for side in (0, 1)
        )
        items_build(campaign=campaign, kind="pairwise", seed=number)


def test_a_plain_form_post_redirects_back_to_the_page(campaign, pairwise_items, labeller, client_for):
    client = client_for(labeller)
    client.get("/label/prefs/")
    item = labeller.leases.get().item
    response = client.post(
        f"/label/prefs/items/{item.pk}/", {"choice": "a", "strength": "strong", "idempotency_key": "k1"}
    )
    assert response.status_code == 302 and response["Location"] == "/label/prefs/"


def test_an_invalid_submission_shows_the_error_inline_and_keeps_the_item(
    campaign, pairwise_items, labeller, client_for
):
    client = client_for(labeller)
    client.get("/label/prefs/")
    item = labeller.leases.get().item
    response = client.post(
        f"/label/prefs/items/{item.pk}/",
        {"choice": "tie", "strength": "strong", "idempotency_key": "k"},
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 400 and 'role="alert"' in html and "Field &#x27;strength&#x27;" in html
    assert f'data-item-id="{item.pk}"' in html and Label.objects.count() == 0


@pytest.mark.parametrize(
    ("action", "data", "field"),
    [
        ("", {"choice": "a", "rationale": "in%00the text", "idempotency_key": "k"}, "rationale"),
        ("", {"choice": "a", "criterion-honesty": "a", "idempotency_key": "k"}, "criteria"),
        ("skip/", {"reason": "in%00the reason"}, "reason"),
    ],
)
def test_nul_or_criteria_the_campaign_lacks_in_a_form_post_show_inline_and_store_nothing(
    campaign, pairwise_items, labeller, client_for, action, data, field
):
    """Form posts carry NUL as %00; PostgreSQL would refuse it, so both databases refuse it the same way."""
    client = client_for(labeller)
    client.get("/label/prefs/")
    item = labeller.leases.get().item
    body = "&".join(f"{key}={value}" for key, value in data.items())
    response = client.post(
        f"/label/prefs/items/{item.pk}/{action}",
        body,
        content_type="application/x-www-form-urlencoded",
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 400 and f"Field &#x27;{field}&#x27;" in html
    assert f'data-item-id="{item.pk}"' in html and not Label.objects.exists() and not item.skips.exists()


def test_a_page_waking_after_others_filled_its_item_gets_another_one(
    campaign, pairwise_items, labeller, client_for
):
    """The lease expired (a laptop asleep) and two others labelled the item (k=2): the heartbeat no longer
    revives the lease, and the submit is refused with a clear message and the next item."""
    client = client_for(labeller)
    client.get("/label/prefs/")
    item = labeller.leases.get().item
    Lease.objects.filter(labeller=labeller).update(expires_at=timezone.now() - timedelta(seconds=1))
    for number in (2, 3):
        other = user_upsert(username=f"filler{number}", password="x" * 10)
        other_client = client_for(other)
        other_client.get("/label/prefs/")
        assert other.leases.get().item == item
        other_client.post(f"/label/prefs/items/{item.pk}/", {"choice": "b", "idempotency_key": "k"})
    heartbeat = client.post(f"/label/prefs/items/{item.pk}/heartbeat/", **HTMX)
    assert heartbeat.status_code == 403 and "ran out" in heartbeat.content.decode()
    response = client.post(f"/label/prefs/items/{item.pk}/", {"choice": "a", "idempotency_key": "k"}, **HTMX)
    html = response.content.decode()
    assert "Your time on this item ran out and others have taken it. Here is another one." in html
    assert f'data-item-id="{item.pk}"' not in html and 'data-item-id="' in html
    assert item.labels.count() == 2


def test_when_nothing_is_left_the_page_says_so(campaign, labeller, client_for):
    html = client_for(labeller).get("/label/prefs/").content.decode()
    assert 'id="no-items"' in html and "No item is left for you" in html


def test_model_output_is_shown_as_inert_text(campaign, generator, labeller, client_for):
    prompt = Prompt.objects.create(campaign=campaign, text="<script>alert('p')</script>")
    Candidate.objects.create(prompt=prompt, generator=generator, text='<img src=x onerror="alert(1)">')
    Candidate.objects.create(prompt=prompt, generator=generator, text="<a href='javascript:alert(2)'>x</a>")
    items_build(campaign=campaign, kind="pairwise")
    html = client_for(labeller).get("/label/prefs/").content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html and "<a href='javascript" not in html
    assert "&lt;img src=x onerror=" in html


def test_labellers_cannot_reach_manage_or_admin_pages(campaign, labeller, client_for):
    client = client_for(labeller)
    assert client.get("/manage/prefs/").status_code == 403
    assert client.get("/admin/").status_code == 302  # the admin sends non-staff to its own login


def test_a_user_outside_the_labellers_group_cannot_label(campaign, client_for, db):
    outsider = user_upsert(username="outsider", password="x" * 10)
    outsider.groups.clear()
    assert client_for(outsider).get("/label/prefs/").status_code == 403


def test_staff_import_generate_and_build_from_the_browser(
    campaign, generator, staff, client_for, fake_generate, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    client = client_for(staff)
    upload = SimpleUploadedFile("p.jsonl", b'{"prompt": "Name a colour."}\n{"prompt": "Name a fruit."}\n')
    page = client.post("/manage/prefs/import/", {"file": upload}, follow=True).content.decode()
    assert "Imported p.jsonl: 2 rows; new: 2 prompts." in page

    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(
            "/manage/prefs/generate/",
            {"generator": generator.pk, "n": "2", "temperature": "0.5", "seed": "3"},
            follow=True,
        ).content.decode()
    assert "Generation job" in page
    job = campaign.generation_jobs.get()
    assert job.status == JobStatus.SUCCEEDED and Candidate.objects.filter(job=job).count() == 4
    assert fake_generate.calls[0]["params"].temperature == 0.5

    page = client.post("/manage/prefs/build/", {}, follow=True).content.decode()
    assert "Built 2 items" in page and Item.objects.count() == 2

    fragment = client.get("/manage/prefs/", **HTMX).content.decode()
    assert fragment.lstrip().startswith('<section id="jobs"') and "2 / 2 prompts" in fragment
    assert "every 2s" not in fragment  # polling stops once every job has finished


def test_the_manage_page_shows_the_prompts_a_server_refused(
    campaign, generator, staff, client_for, fake_generate, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    Prompt.objects.create(campaign=campaign, text="Name a colour.")
    too_long = Prompt.objects.create(campaign=campaign, text="A very long prompt.")
    fake_generate.refuse = {"A very long prompt.": "HTTP 400: exceeds the available context size"}
    with django_capture_on_commit_callbacks(execute=True):
        client_for(staff).post("/manage/prefs/generate/", {"generator": generator.pk, "n": "2"})

    fragment = client_for(staff).get("/manage/prefs/", **HTMX).content.decode()
    assert "Completed with 1 failed prompt" in fragment and "1 / 2 prompts, 1 failed" in fragment
    assert f"Prompt {too_long.pk}: HTTP 400: exceeds the available context size" in fragment
    assert "every 2s" not in fragment


def test_staff_retry_a_partly_completed_generation_job_and_it_runs_only_the_failed_prompts(
    campaign, generator, staff, client_for, fake_generate, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    Prompt.objects.create(campaign=campaign, text="Name a colour.")
    Prompt.objects.create(campaign=campaign, text="A very long prompt.")
    fake_generate.refuse = {"A very long prompt.": "HTTP 400: exceeds the available context size"}
    client = client_for(staff)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/manage/prefs/generate/", {"generator": generator.pk, "n": "2"})
    job = campaign.generation_jobs.get()
    retry = f'action="/manage/prefs/jobs/generation/{job.pk}/retry/"'
    assert retry in client.get("/manage/prefs/").content.decode()

    fake_generate.refuse, fake_generate.calls = {}, []
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(f"/manage/prefs/jobs/generation/{job.pk}/retry/", follow=True).content.decode()
    assert f"Generation job {job.pk} queued again." in page
    job.refresh_from_db()
    assert (job.status, job.progress_done, job.prompt_failures) == (JobStatus.SUCCEEDED, 2, [])
    (call,) = fake_generate.calls
    assert [r.prompt for r in call["requests"]] == ["A very long prompt."]
    assert retry not in page  # nothing left to retry

    with django_capture_on_commit_callbacks(execute=True):  # a second click, from a page loaded before
        page = client.post(f"/manage/prefs/jobs/generation/{job.pk}/retry/", follow=True).content.decode()
    assert f"Generation job {job.pk} has already succeeded." in page and len(fake_generate.calls) == 1


def test_the_manage_page_lists_judge_jobs_with_progress_and_retries_them_behind_csrf(
    campaign, pairwise_items, generator, staff, client_for, fake_generate, settings
):
    from django.test import Client

    from labelapp.models import JudgeJob

    failed = JudgeJob.objects.create(
        campaign=campaign,
        generator=generator,
        status=JobStatus.FAILED,
        progress_done=1,
        progress_total=3,
        parse_errors=1,
        error="InferenceUnavailable: TGI server http://gpu-1/generate unreachable",
    )
    fragment = client_for(staff).get("/manage/prefs/", **HTMX).content.decode()
    assert f"Judge job {failed.pk}" in fragment and "fake-model judges items" in fragment
    assert (
        "1 / 3 items, 1 unparseable" in fragment
        and "TGI server http://gpu-1/generate unreachable" in fragment
    )
    assert f'action="/manage/prefs/jobs/judge/{failed.pk}/retry/"' in fragment

    forged = Client(enforce_csrf_checks=True)
    forged.force_login(staff)
    assert forged.post(f"/manage/prefs/jobs/judge/{failed.pk}/retry/").status_code == 403
    assert client_for(staff).post(f"/manage/prefs/jobs/judge/{failed.pk + 1}/retry/").status_code == 404
    assert client_for(staff).post(f"/manage/nope/jobs/judge/{failed.pk}/retry/").status_code == 404
    failed.refresh_from_db()
    assert failed.status == JobStatus.FAILED


def test_the_polled_jobs_fragment_takes_as_many_queries_for_many_jobs_as_for_one(
    campaign, generator, staff, client_for
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from labelapp.models import Continuation, EmbeddingJob, Export, GenerationJob, JudgeJob
    from tests.factories import item_factory

    def add_one_of_each() -> None:
        GenerationJob.objects.create(campaign=campaign, generator=generator, params={"n": 1})
        Export.objects.create(campaign=campaign, format="dpo")
        JudgeJob.objects.create(campaign=campaign, generator=generator)
        EmbeddingJob.objects.create(campaign=campaign, model="all-MiniLM-L6-v2")
        Continuation.objects.create(campaign=campaign, item=item_factory(campaign))

    client = client_for(staff)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/manage/prefs/", **HTMX)
        assert response.status_code == 200 and 'hx-trigger="every 2s"' in response.content.decode()
        return len(captured)

    add_one_of_each()
    few = queries()
    for _ in range(5):
        add_one_of_each()
    assert queries() == few


def test_the_manage_page_says_how_each_conversation_went_on_or_why_it_stopped(
    campaign, pairwise_items, staff, client_for
):
    from labelapp.models import Continuation, ContinuationStop

    stopped, continued, failed = (
        Continuation.objects.create(campaign=campaign, item=item, status=status, **fields)
        for item, status, fields in zip(
            pairwise_items,
            [JobStatus.SUCCEEDED, JobStatus.SUCCEEDED, JobStatus.FAILED],
            [{"stopped": ContinuationStop.TIE}, {"message_source": "labeller"}, {"error": "GPU fell over"}],
            strict=True,
        )
    )
    fragment = client_for(staff).get("/manage/prefs/", **HTMX).content.decode()
    assert f"Continuation {stopped.pk}" in fragment
    assert f"The conversation of item {stopped.item_id}: its next turn" in fragment
    assert "Stopped: the labellers judged the replies a tie" in fragment
    assert "Continued with a labeller&#x27;s message" in fragment
    assert "GPU fell over" in fragment
    assert f'action="/manage/prefs/jobs/continuation/{failed.pk}/retry/"' in fragment
    assert f'action="/manage/prefs/jobs/continuation/{continued.pk}/retry/"' not in fragment


def test_the_message_box_shows_only_while_a_conversation_can_go_on(
    campaign, pairwise_items, labeller, client_for
):
    client = client_for(labeller)
    assert 'name="next_message"' not in client.get("/label/prefs/").content.decode()
    campaign.continue_turns = 1
    campaign.save()
    assert 'name="next_message"' in client.get("/label/prefs/").content.decode()
    Prompt.objects.filter(campaign=campaign).update(turn=2)
    assert 'name="next_message"' not in client.get("/label/prefs/").content.decode()


def test_a_bad_generation_parameter_is_reported_not_raised(campaign, generator, staff, client_for):
    Prompt.objects.create(campaign=campaign, text="hi")
    page = client_for(staff).post(
        "/manage/prefs/generate/", {"generator": generator.pk, "top_p": "7"}, follow=True
    )
    assert "top_p must be in (0, 1]" in page.content.decode()
    assert campaign.generation_jobs.count() == 0


def test_a_temperature_sweep_from_the_browser_queues_one_job_per_value(
    campaign, generator, staff, client_for, fake_generate, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    Prompt.objects.create(campaign=campaign, text="hi")
    with django_capture_on_commit_callbacks(execute=True):
        page = client_for(staff).post(
            "/manage/prefs/generate/",
            {"generator": generator.pk, "n": "1", "temperature": "0.3, 0.9"},
            follow=True,
        )
    assert "Queued generation job(s)" in page.content.decode()
    assert sorted(j.params["temperature"] for j in campaign.generation_jobs.all()) == [0.3, 0.9]
    assert Candidate.objects.count() == 2
    page = client_for(staff).post(
        "/manage/prefs/generate/", {"generator": generator.pk, "temperature": "hot"}, follow=True
    )
    assert "Field &#x27;temperature&#x27; must be numbers" in page.content.decode()


def test_a_best_of_n_job_from_the_browser_says_how_it_selects(
    campaign, generator, staff, client_for, fake_generate, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    Prompt.objects.create(campaign=campaign, text="hi")
    client = client_for(staff)
    form = {"generator": generator.pk, "n": "3", "strategy": "best-of-n"}
    page = client.post("/manage/prefs/generate/", form, follow=True).content.decode()
    assert "The best-of-n strategy needs option &#x27;select&#x27;" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/manage/prefs/generate/", {**form, "select": "logprob"}, follow=True)
    page = client.get("/manage/prefs/").content.decode()
    assert "Sample n answers, select the best, T=" in page and "n=3" in page and "selected by logprob" in page
    assert Candidate.objects.filter(selection__selected=True).count() == 1


def test_skip_by_form_and_heartbeat_keep_the_labeller_moving(campaign, pairwise_items, labeller, client_for):
    client = client_for(labeller)
    html = client.get("/label/prefs/").content.decode()
    item = labeller.leases.get().item
    assert f'hx-post="/label/prefs/items/{item.pk}/heartbeat/"' in html and "<kbd>s</kbd>" in html
    assert client.post(f"/label/prefs/items/{item.pk}/heartbeat/").status_code == 204

    response = client.post(f"/label/prefs/items/{item.pk}/skip/", {"reason": "off-topic"}, **HTMX)
    assert response.status_code == 200 and f'data-item-id="{item.pk}"' not in response.content.decode()
    assert item.skips.get().reason == "off-topic"
    assert client.post(f"/label/prefs/items/{item.pk}/heartbeat/").status_code == 404


def test_a_refused_labeller_sees_why_instead_of_an_item(campaign, pairwise_items, labeller, client_for):
    campaign.required_skills = ["lang:fr"]
    campaign.save()
    # Routing hides the campaign from the labeller's list, and the page says why.
    assert "prefs" not in client_for(labeller).get("/").content.decode()
    response = client_for(labeller).get("/label/prefs/")
    assert response.status_code == 404


def test_a_suspended_labeller_sees_the_reason_on_the_page(campaign, pairwise_items, labeller, client_for):
    labeller_suspend(user=labeller, reason="please re-read the guidelines")
    response = client_for(labeller).get("/label/prefs/")
    html = response.content.decode()
    assert response.status_code == 403 and 'role="alert"' in html
    assert "Suspended: please re-read the guidelines" in html and 'class="candidate"' not in html


@pytest.mark.parametrize("path", ["/manage/nope/", "/manage/nope/dashboard/", "/label/nope/"])
def test_an_unknown_campaign_is_a_404_page_not_a_traceback(path, staff, client_for):
    response = client_for(staff).get(path)
    assert (
        response.status_code == 404
        and "Campaign &#x27;nope&#x27; does not exist" in response.content.decode()
    )
    assert client_for(staff).post("/manage/nope/build/").status_code == 404


def test_staff_import_a_public_dataset_from_the_manage_page(campaign, staff, client_for):
    client = client_for(staff)
    page = client.get("/manage/prefs/").content.decode()
    assert '<option value="hh-rlhf"' in page and 'name="source"' in page
    upload = SimpleUploadedFile("shp.csv", (FILES / "shp.csv").read_bytes())
    page = client.post(
        "/manage/prefs/import/", {"file": upload, "format": "shp"}, follow=True
    ).content.decode()
    assert "Imported shp.csv: 2 rows; new: 1 prompt, 3 candidates, 2 items, 2 source labels" in page
    assert Item.objects.count() == 2


def test_a_bad_upload_and_one_over_the_size_limit_say_why_on_the_manage_page(
    campaign, staff, client_for, settings
):
    client = client_for(staff)
    bad = SimpleUploadedFile("p.jsonl", b'{"prompt": "fine"}\n{"messages": []}\n')
    page = client.post("/manage/prefs/import/", {"file": bad}, follow=True).content.decode()
    assert "p.jsonl, line 2, field &#x27;messages&#x27;: must be a non-empty list" in page
    settings.LABELAPP_IMPORT_UPLOAD_MAX_BYTES = 100
    big = SimpleUploadedFile("p.jsonl", b'{"prompt": "a long enough prompt to pass the limit"}\n' * 5)
    page = client.post("/manage/prefs/import/", {"file": big}, follow=True).content.decode()
    assert (
        "Import a larger one from the command line: python manage.py import_dataset FILE --campaign prefs"
        in page
    )
    assert not Prompt.objects.exists()

from datetime import timedelta

import pytest
from django.utils import timezone

from labelapp.errors import NotFoundError
from labelapp.models import Campaign, EmbeddingJob, Export, GenerationJob, JobStatus, JudgeJob
from labelapp.selectors.jobs import job_get, jobs_for_campaign


@pytest.fixture
def jobs(campaign, generator):
    """Two jobs of each kind in `prefs`, oldest first, and one in another campaign."""
    made = []
    for round_ in range(2):
        made += [
            GenerationJob.objects.create(campaign=campaign, generator=generator, params={"n": round_ + 1}),
            Export.objects.create(campaign=campaign, format="dpo", status=JobStatus.SUCCEEDED),
            JudgeJob.objects.create(campaign=campaign, generator=generator, status=JobStatus.FAILED),
            EmbeddingJob.objects.create(campaign=campaign, model="all-MiniLM-L6-v2"),
        ]
    start = timezone.now()
    for minutes, job in enumerate(made):  # one a minute: the order does not hang on clock resolution
        type(job).objects.filter(pk=job.pk).update(created_at=start + timedelta(minutes=minutes))
    other = Campaign.objects.create(name="other")
    JudgeJob.objects.create(campaign=other, generator=generator)
    return made


def test_a_campaigns_jobs_of_every_kind_newest_first_in_one_query_per_kind(
    campaign, jobs, django_assert_num_queries
):
    with django_assert_num_queries(4):
        listed = jobs_for_campaign(campaign=campaign)
        names = [job.display_name for job in listed]
        generators = [job.generator.name for job in listed if isinstance(job, GenerationJob | JudgeJob)]
    assert names == [job.display_name for job in reversed(jobs)]
    assert generators == ["fake-model"] * 4
    assert [job.display_name for job in jobs_for_campaign(campaign=campaign, limit=3)] == names[:3]


def test_a_job_is_found_only_under_its_own_campaign_and_kind(campaign, jobs):
    judge = JudgeJob.objects.filter(campaign=campaign).first()
    assert job_get(campaign=campaign, kind="judge", job_id=judge.pk) == judge
    elsewhere = JudgeJob.objects.get(campaign__name="other")
    with pytest.raises(NotFoundError, match=f"Judge job {elsewhere.pk} is not a job of campaign 'prefs'"):
        job_get(campaign=campaign, kind="judge", job_id=elsewhere.pk)
    with pytest.raises(
        NotFoundError, match="Unknown job kind 'training'. Allowed: generation, export, judge"
    ):
        job_get(campaign=campaign, kind="training", job_id=judge.pk)

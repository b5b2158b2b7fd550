import math

import pytest
from django.core.management import call_command

from labelapp.models import Candidate, JobStatus, Prompt


@pytest.mark.embedded_model
def test_generate_candidates_writes_real_completions_of_the_embedded_model(campaign):
    Prompt.objects.create(campaign=campaign, text="What is the capital of France?")
    Prompt.objects.create(campaign=campaign, messages=[{"role": "user", "content": "Name a colour."}])
    call_command(
        "generate_candidates", campaign=campaign.name, n=2, max_new_tokens=6, seed=0, temperature=[0.7]
    )

    candidates = list(Candidate.objects.select_related("generator", "job"))
    assert len(candidates) == 4
    for candidate in candidates:
        assert candidate.text.strip() and candidate.generator.name == "smollm2-135m"
        assert 1 <= candidate.token_count <= 6 and candidate.finish_reason in {"eos", "length"}
        assert math.isfinite(candidate.logprob_sum) and candidate.logprob_sum < 0
        assert candidate.logprob_mean == pytest.approx(candidate.logprob_sum / candidate.token_count)
        assert "<|im_start|>assistant" in candidate.rendered_prompt
        assert candidate.params["n"] == 2 and candidate.seed is not None
    job = candidates[0].job
    assert job.status == JobStatus.SUCCEEDED and job.tokens_generated == sum(
        c.token_count for c in candidates
    )

"""generate_candidates --strategy best-of-n on a real (tiny, randomly initialised) model, scored by a real
(tiny) reward model; and its refusals."""

import pytest
from django.core.management import CommandError, call_command

from labelapp.models import Candidate, Generator, Prompt
from tests.labelapp.services.test_best_of_n import tiny_reward_model


@pytest.fixture
def tiny_generator(db, tiny_model_dir):
    return Generator.objects.create(
        name="tiny", model=str(tiny_model_dir), default_params={"max_new_tokens": 6}
    )


def test_best_of_n_with_a_reward_model_stores_all_and_marks_the_best(
    campaign, tiny_generator, tmp_path, capsys
):
    for text in ("Name a colour.", "Name a fruit."):
        Prompt.objects.create(campaign=campaign, text=text)
    reward_model = tiny_reward_model(tmp_path)

    call_command(
        "generate_candidates",
        "--campaign=prefs",
        "--generator=tiny",
        "--strategy=best-of-n",
        "--n=3",
        f"--select=reward-model:{reward_model}",
    )

    assert f"Best of 3 selected by reward-model:{reward_model} for 2 prompts." in capsys.readouterr().out
    for prompt in campaign.prompts.all():
        answers = list(Candidate.objects.filter(prompt=prompt).order_by("sample_index"))
        assert len(answers) == 3
        (best,) = [a for a in answers if a.selection["selected"]]
        assert best.selection["score"] == max(a.selection["score"] for a in answers)
        assert best.selection["scores"] == [a.selection["score"] for a in answers]


def test_a_bad_selection_stops_the_command_naming_the_option(campaign, generator):
    Prompt.objects.create(campaign=campaign, text="Name a colour.")
    with pytest.raises(
        CommandError, match="Option 'select': judge:nobody: Generator 'nobody' does not exist"
    ):
        call_command(
            "generate_candidates",
            "--campaign=prefs",
            "--generator=fake-model",
            "--strategy=best-of-n",
            "--n=4",
            "--select=judge:nobody",
        )
    with pytest.raises(CommandError, match="The best-of-n strategy needs option 'select'"):
        call_command(
            "generate_candidates",
            "--campaign=prefs",
            "--generator=fake-model",
            "--strategy=best-of-n",
            "--n=4",
        )
    assert not campaign.generation_jobs.exists()

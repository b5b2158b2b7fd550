from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import call_command

from labelapp.models import Campaign, Candidate, GenerationJob, Generator
from labelapp.selectors.campaigns import user_is_labeller
from labelapp.selectors.reports import coherent_but_wrong_report_for
from labelapp.services.demo import demo_seed
from labelapp.services.labels import label_submit
from labelapp.services.leases import lease_next


def test_seed_demo_is_idempotent_and_its_users_log_in(db, fake_generate, monkeypatch, capsys):
    monkeypatch.setenv("DEMO_PASSWORD", "first-password")
    call_command("seed_demo")
    monkeypatch.setenv("DEMO_PASSWORD", "second-password")
    call_command("seed_demo")

    campaign = Campaign.objects.get(name="demo")
    assert (campaign.kind, campaign.labels_per_item) == ("pairwise", 2)
    assert campaign.prompts.count() == 8
    # Generated once: 8 prompts x 3 samples, by the embedded model through its chat template and through
    # a raw "Q: ... A:" template.
    answers = Candidate.objects.filter(prompt__campaign=campaign)
    assert sorted(set(answers.values_list("generator__name", flat=True))) == [
        "smollm2-135m",
        "smollm2-135m-raw",
    ]
    assert answers.filter(generator__name="smollm2-135m").count() == 24
    assert answers.filter(generator__name="smollm2-135m-raw").count() == 24
    raw = Generator.objects.get(name="smollm2-135m-raw")
    assert (raw.model, raw.prompt_format, raw.raw_template) == ("embedded", "raw", "Q: {prompt}\nA:")
    # One campaign per task kind, all judging the demo's own candidates. Per prompt: 3 of the 15 pairs of
    # its 6 answers, each answer alone (twice), a set of 3 per generator, and two rankings of 3.
    items = {c.name: (c.kind, c.items.count()) for c in Campaign.objects.all()}
    assert items == {
        "demo": ("pairwise", 24),
        "demo-correctness": ("correctness", 48),
        "demo-coherence": ("coherence", 48),
        "demo-setwise": ("setwise", 16),
        "demo-ranking": ("ranking", 16),
    }
    assert Campaign.objects.get(name="demo-correctness").show_reference_answer
    assert not Candidate.objects.exclude(prompt__campaign=campaign).exists()

    # Two chunks of four prompts per generator, in the first run only; the raw template stops where the
    # model would ask itself the next question, or list quiz answers.
    assert [(call["spec"].prompt_format, call["params"].stop) for call in fake_generate.calls] == [
        ("chat", ()),
        ("chat", ()),
        ("raw", ("\nQ:", "\nB:")),
        ("raw", ("\nQ:", "\nB:")),
    ]
    assert GenerationJob.objects.count() == 2

    admin = authenticate(username="admin", password="second-password")
    assert admin is not None and admin.is_staff
    for name in ("labeller1", "labeller2", "labeller3"):
        user = authenticate(username=name, password="second-password")
        assert user is not None and user_is_labeller(user) and not user.is_staff
    assert authenticate(username="labeller1", password="first-password") is None
    assert "Logins (password for all: second-password)" in capsys.readouterr().out


def test_seed_demo_generates_a_password_when_none_is_set(db, fake_generate, monkeypatch, capsys):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    call_command("seed_demo")
    printed = capsys.readouterr().out.split("Logins (password for all: ")[1].split(")")[0]
    assert len(printed) >= 12 and authenticate(username="labeller2", password=printed) is not None


def test_the_demos_coherent_but_wrong_report_compares_two_generators(db, fake_generate):
    demo_seed(password="demo password")
    labeller = User.objects.get(username="labeller1")
    for name, value in [
        ("demo-correctness", {"verdict": "incorrect", "confidence": "probably"}),
        ("demo-coherence", {"verdict": "coherent"}),
    ]:
        campaign = Campaign.objects.get(name=name)
        while (item := lease_next(labeller=labeller, campaign=campaign)) is not None:
            label_submit(
                labeller=labeller,
                campaign=name,
                item_id=item.pk,
                value=value,
                idempotency_key=f"{item.pk}",
                lease_next=False,
            )

    report = coherent_but_wrong_report_for(
        campaign=Campaign.objects.get(name="demo-correctness"), coherence_campaign="demo-coherence"
    )
    rows = [(row.generator, row.judged, row.coherent_but_wrong.count) for row in report.generators]
    assert rows == [("smollm2-135m", 24, 24), ("smollm2-135m-raw", 24, 24)]

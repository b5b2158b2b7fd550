from django.contrib.auth import authenticate
from django.core.management import call_command

from labelapp.models import Campaign, Candidate
from labelapp.selectors.campaigns import user_is_labeller


def test_seed_demo_is_idempotent_and_its_users_log_in(db, fake_generate, monkeypatch, capsys):
    monkeypatch.setenv("DEMO_PASSWORD", "first-password")
    call_command("seed_demo")
    monkeypatch.setenv("DEMO_PASSWORD", "second-password")
    call_command("seed_demo")

    campaign = Campaign.objects.get(name="demo")
    assert (campaign.kind, campaign.labels_per_item) == ("pairwise", 2)
    assert campaign.prompts.count() == 8
    assert Candidate.objects.filter(prompt__campaign=campaign).count() == 24  # generated once: 8 prompts x 3
    # One campaign per task kind, all judging the demo's own candidates: 3 pairs, 3 single answers (twice),
    # one set of 3 and one ranking of 3 per prompt.
    items = {c.name: (c.kind, c.items.count()) for c in Campaign.objects.all()}
    assert items == {
        "demo": ("pairwise", 24),
        "demo-correctness": ("correctness", 24),
        "demo-coherence": ("coherence", 24),
        "demo-setwise": ("setwise", 8),
        "demo-ranking": ("ranking", 8),
    }
    assert Campaign.objects.get(name="demo-correctness").show_reference_answer
    assert not Candidate.objects.exclude(prompt__campaign=campaign).exists()

    assert len(fake_generate.calls) == 2  # two chunks of four prompts, in the first run only

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

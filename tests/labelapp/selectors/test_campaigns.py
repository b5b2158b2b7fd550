import pytest

from labelapp.errors import NotFoundError
from labelapp.models import Campaign, CampaignStatus, LabellerProfile
from labelapp.selectors.campaigns import campaign_get_for_user, campaigns_for_user
from labelapp.selectors.labellers import labeller_standing_remember, user_for_api_token
from labelapp.services.labellers import labeller_suspend, user_upsert


@pytest.fixture
def routed(db) -> list[Campaign]:
    return [
        Campaign.objects.create(name="open", priority=1),
        Campaign.objects.create(name="maths", required_skills=["expert:math"]),
        Campaign.objects.create(name="maths-fr", required_skills=["expert:math", "lang:fr"]),
        Campaign.objects.create(name="paused", status=CampaignStatus.PAUSED),
    ]


def test_a_labeller_is_routed_to_the_active_campaigns_whose_skills_they_have(routed, labeller):
    assert [c.name for c in campaigns_for_user(user=labeller)] == ["open"]
    LabellerProfile.objects.create(user=labeller, skills=["expert:math", "lang:de"])
    assert [c.name for c in campaigns_for_user(user=labeller)] == ["open", "maths"]
    assert campaign_get_for_user(user=labeller, name="maths").name == "maths"
    for closed in ("maths-fr", "paused", "nope"):
        with pytest.raises(NotFoundError, match=f"Campaign '{closed}' does not exist or is not open to you."):
            campaign_get_for_user(user=labeller, name=closed)


def test_staff_see_every_campaign_and_outsiders_none(routed, staff, db):
    assert {c.name for c in campaigns_for_user(user=staff)} == {"open", "maths", "maths-fr", "paused"}
    assert campaign_get_for_user(user=staff, name="paused").status == CampaignStatus.PAUSED
    outsider = user_upsert(username="outsider", password="x" * 10)
    outsider.groups.clear()
    assert list(campaigns_for_user(user=outsider)) == []
    with pytest.raises(NotFoundError):
        campaign_get_for_user(user=outsider, name="open")


def test_a_request_reads_the_standing_once_and_a_later_request_sees_a_suspension(
    routed, labeller, django_assert_num_queries
):
    from rest_framework.authtoken.models import Token

    key = Token.objects.create(user=labeller).key
    with django_assert_num_queries(2):  # the token with its user, group and profile; the campaign
        request_user = user_for_api_token(key=key)
        assert labeller_standing_remember(user=request_user).in_group
        assert campaign_get_for_user(user=request_user, name="open").name == "open"
    labeller_suspend(user=labeller, reason="checking")
    assert labeller_standing_remember(user=request_user).suspended is False  # this request's answer
    later = user_for_api_token(key=key)
    assert later.pk == labeller.pk
    assert labeller_standing_remember(user=later).suspended_reason == "checking"
    assert user_for_api_token(key="not-a-token") is None

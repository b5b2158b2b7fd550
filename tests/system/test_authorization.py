"""The authorization matrix: every route in the URL conf, for each of anonymous, the labeller an item is leased
to (owner), another labeller (other, who also has the reviewer skill) and staff.

Routes are listed from the URL conf, so a route added without a rule here fails
`test_every_route_answers_each_role_as_its_rule_says`. A labeller reads and writes only items leased to them
(another labeller's item is a 404, as if it did not exist) and no answer to a labeller names another labeller
or shows their label.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from labelapp.models import (
    AuditEntry,
    Campaign,
    Continuation,
    EmbeddingJob,
    Export,
    GenerationJob,
    Item,
    JobStatus,
    JudgeJob,
    JudgeLabel,
    LabellerProfile,
    Lease,
    Prompt,
    Skip,
    SourceLabel,
)
from labelapp.services.audit import audit_record
from labelapp.services.items import items_build
from labelapp.services.labellers import user_upsert
from labelapp.services.labels import label_submit
from labelapp.services.leases import lease_next
from tests.factories import candidates_add

ROLES = ("anonymous", "other", "staff", "owner")  # the owner goes last: their writes use up the lease
LOGIN = "login"  # 302 to /accounts/login/?next=...
ADMIN_LOGIN = "admin-login"  # 302 to /admin/login/?next=...
OWNER_SECRET = "owner's rationale, for nobody else's eyes"
OTHER_SECRET = "other's rationale, for nobody else's eyes"


@dataclass(frozen=True)
class Rule:
    method: str
    anonymous: "Expected"
    owner: "Expected"
    other: "Expected"
    staff: "Expected"
    data: dict[str, Any] = field(default_factory=dict)

    def expected(self, role: str) -> "Expected":
        return getattr(self, role)


Expected = int | str


def pages(
    method: str,
    *,
    labellers: Expected,
    staff: Expected,
    anonymous: Expected = LOGIN,
    other: Expected | None = None,
    data: dict[str, Any] | None = None,
) -> Rule:
    """A page: anonymous visitors go to the login; `other` differs from `owner` only on item routes."""
    return Rule(method, anonymous, labellers, labellers if other is None else other, staff, data or {})


def api(
    method: str,
    *,
    labellers: Expected,
    staff: Expected,
    other: Expected | None = None,
    data: dict[str, Any] | None = None,
) -> Rule:
    return Rule(method, 401, labellers, labellers if other is None else other, staff, data or {})


LABEL = {"choice": "a", "strength": "clear", "rationale": "fine", "idempotency_key": "matrix-1"}

RULES: dict[str, Rule] = {
    # Accounts: password reset by email is not offered (the app sends no email).
    "login": pages("GET", anonymous=200, labellers=200, staff=200),
    "logout": pages("POST", anonymous=302, labellers=302, staff=302),
    "password_change": pages("GET", labellers=200, staff=200),
    "password_change_done": pages("GET", labellers=200, staff=200),
    # Labelling pages: labellers and staff; an item route answers only the labeller it is leased to.
    "home": pages("GET", labellers=200, staff=200),
    "label": pages("GET", labellers=200, staff=200),
    "label-submit": pages("POST", labellers=302, other=404, staff=404, data=LABEL),
    "label-skip": pages("POST", labellers=302, other=404, staff=404, data={"reason": "unclear"}),
    "label-heartbeat": pages("POST", labellers=204, other=404, staff=404),
    # Reviewing: labellers with the reviewer skill only (here "other"); an item answers only the reviewer it
    # is reserved to.
    "review": pages("GET", labellers=403, other=200, staff=403),
    "review-submit": pages("POST", labellers=403, other=404, staff=403, data=LABEL),
    # Managing a campaign: staff only.
    "manage": pages("GET", labellers=403, staff=200),
    "manage-import": pages("POST", labellers=403, staff=302),
    "manage-import-gold": pages("POST", labellers=403, staff=302),
    "manage-generate": pages("POST", labellers=403, staff=302),
    "manage-build": pages("POST", labellers=403, staff=302),
    "manage-dashboard": pages("GET", labellers=403, staff=200),
    "manage-export": pages("POST", labellers=403, staff=302, data={"format": "dpo", "output": "jsonl"}),
    "manage-job-retry": pages("POST", labellers=403, staff=302),  # staff: a failed generation job
    "reports": pages("GET", labellers=403, staff=200),
    "report": pages("GET", labellers=403, staff=200),
    "report-embeddings": pages("POST", labellers=403, staff=400),  # staff: "diversity is for set-wise"
    # The API: 401 without credentials; the same item rules as the pages.
    "api-schema": api("GET", labellers=200, staff=200),
    "api-next-item": api("POST", labellers=200, staff=200),
    "api-campaign-progress": api("GET", labellers=200, staff=200),
    "api-label-submit": api(
        "POST",
        labellers=201,
        other=404,
        staff=404,
        data={"value": {"choice": "b", "rationale": "fine"}, "idempotency_key": "matrix-2"},
    ),
    "api-label-and-next": api(
        "POST",
        labellers=201,
        other=404,
        staff=404,
        data={"value": {"choice": "a"}, "idempotency_key": "matrix-3"},
    ),
    "api-item-skip": api("POST", labellers=204, other=404, staff=404, data={"reason": "unclear"}),
    "api-campaign-dashboard": api("GET", labellers=403, staff=200),
    "api-export-start": api("POST", labellers=403, staff=202, data={"format": "dpo"}),
    "api-export-status": api("GET", labellers=403, staff=200),
    "api-export-download": api("GET", labellers=403, staff=200),
    "api-dataset-import": api("POST", labellers=403, staff=415),  # staff: JSON, not a multipart upload
    # Setting campaigns up (as an experiment file does): staff only.
    "api-campaigns": api("GET", labellers=403, staff=200),
    "api-generators": api("GET", labellers=403, staff=200),
    "api-generation-job-start": api("POST", labellers=403, staff=202, data={"generator": "fake-model"}),
    "api-generation-job-status": api("GET", labellers=403, staff=200),
    "api-item-build": api("POST", labellers=403, staff=200),
    "api-report": api("GET", labellers=403, staff=200),
    # Any other path under /api/: the API's 404 in its error shape, for everyone (DEBUG on or off).
    "api-not-found": Rule("GET", anonymous=404, owner=404, other=404, staff=404),
}

# The admin: staff only; everyone else is sent to the admin's login. Site-wide views:
ADMIN_RULES: dict[str, Rule] = {
    "admin:index": pages("GET", anonymous=ADMIN_LOGIN, labellers=ADMIN_LOGIN, staff=200),
    "admin:login": pages("GET", anonymous=200, labellers=200, staff=302),  # a labeller is told they may not
    "admin:logout": pages("POST", anonymous=302, labellers=302, staff=302),
    "admin:password_change": pages("GET", anonymous=ADMIN_LOGIN, labellers=ADMIN_LOGIN, staff=200),
    "admin:password_change_done": pages("GET", anonymous=ADMIN_LOGIN, labellers=ADMIN_LOGIN, staff=200),
    "admin:autocomplete": pages("GET", anonymous=ADMIN_LOGIN, labellers=ADMIN_LOGIN, staff=403),
    "admin:jsi18n": pages("GET", anonymous=ADMIN_LOGIN, labellers=ADMIN_LOGIN, staff=200),
    "admin:view_on_site": pages("GET", anonymous=ADMIN_LOGIN, labellers=ADMIN_LOGIN, staff=404),
    "admin:app_list": pages("GET", anonymous=ADMIN_LOGIN, labellers=ADMIN_LOGIN, staff=200),
    "admin:auth_user_password_change": pages("GET", labellers=ADMIN_LOGIN, staff=200),
    "admin:<any other path>": pages("GET", anonymous=ADMIN_LOGIN, labellers=ADMIN_LOGIN, staff=404),
}
# Each model in the admin, and what staff may do with it there. A model newly registered in the admin needs
# a line here: its routes have no rule until it has one.
FULL = {"changelist", "add", "change", "delete", "history", "object"}
ADMIN_MODELS: dict[str, set[str]] = {
    "auth.group": FULL,
    "auth.user": FULL,
    "authtoken.tokenproxy": FULL,
    "labelapp.campaign": FULL,
    "labelapp.prompt": FULL,
    "labelapp.generator": FULL,
    "labelapp.generationjob": FULL,
    "labelapp.judgejob": FULL - {"add"},  # jobs are started from the CLI, the manage page or a report page
    "labelapp.embeddingjob": FULL - {"add"},
    "labelapp.continuation": FULL - {"add"},  # recorded by the label that completes an item
    "labelapp.candidate": FULL,
    "labelapp.item": FULL,
    "labelapp.labellerprofile": FULL,
    "labelapp.skip": FULL,
    "labelapp.lease": FULL,
    "labelapp.label": FULL,
    "labelapp.judgelabel": FULL,
    "labelapp.sourcelabel": FULL - {"add"},  # source labels come with an import
    "labelapp.export": FULL - {"add"},  # exports are started from the manage page, the API or the CLI
    "labelapp.auditentry": FULL - {"add", "delete"},  # written by services only; nobody edits the log
    "axes.accessattempt": FULL - {"add"},  # deleting one unlocks a login
    "axes.accesslog": FULL - {"add"},
    "axes.accessfailurelog": FULL - {"add"},
}
ADMIN_MODEL_VIEWS = ("changelist", "add", "change", "delete", "history")


def admin_model_rule(model: str, view: str) -> Rule | None:
    if model not in ADMIN_MODELS:
        return None
    if view == "object":  # a bare object URL redirects to its change page, which checks who asks
        return pages("GET", labellers=302, staff=302)
    staff = 200 if view in ADMIN_MODELS[model] else 403
    return pages("GET", labellers=ADMIN_LOGIN, staff=staff)


# --- routes, from the URL conf ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    key: str  # "namespace:name", or for a route without a name, "namespace:<its pattern>"
    name: str | None
    pattern: str
    admin_model: str | None = None  # "app.model" for a ModelAdmin's routes
    admin_view: str | None = None  # changelist, add, change, delete, history, or object (the redirect)


def _routes(
    patterns: list, prefix: str = "", namespace: str = "", model: str | None = None
) -> Iterator[Route]:
    for entry in patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = ":".join(filter(None, [namespace, entry.namespace]))
            admin_model = model
            for registered, _ in admin.site._registry.items():
                meta = registered._meta
                if str(entry.pattern) == f"{meta.app_label}/{meta.model_name}/":
                    admin_model = meta.label_lower
            yield from _routes(entry.url_patterns, pattern, inner, admin_model)
            continue
        assert isinstance(entry, URLPattern)
        full_name = ":".join(filter(None, [namespace, entry.name])) if entry.name else None
        view = None
        if model is not None:
            view = next(
                (v for v in ADMIN_MODEL_VIEWS if entry.name == f"{model.replace('.', '_')}_{v}"), None
            )
            view = view or ("object" if entry.name is None else None)
        key = full_name or f"{namespace}:{pattern}"
        if namespace == "admin" and entry.name is None and model is None:
            key = "admin:<any other path>"
        yield Route(key, full_name, pattern, model, view)


ROUTES = sorted(_routes(get_resolver().url_patterns), key=lambda route: route.key)


def rule_for(route: Route) -> Rule | None:
    if route.admin_model is not None and route.admin_view is not None:
        return admin_model_rule(route.admin_model, route.admin_view)
    return RULES.get(route.key) or ADMIN_RULES.get(route.key)


# --- the world the requests are made in ------------------------------------------------------------------


@dataclass
class World:
    owner: User
    other: User
    staff: User
    campaign: Campaign
    owner_item: Item  # leased to the owner
    other_item: Item  # leased to the other labeller

    def url(self, route: Route) -> str:
        if route.key == "admin:<any other path>":
            return "/admin/no-such-page/"
        if route.admin_view == "object":
            return "/" + route.pattern.replace("<path:object_id>", str(self.admin_object(route.admin_model)))
        params = re.findall(r"<(?:\w+:)?(\w+)>", route.pattern) + re.findall(r"\(\?P<(\w+)>", route.pattern)
        return reverse(route.name, kwargs={param: self.argument(route, param) for param in params})

    def argument(self, route: Route, param: str) -> Any:
        match param:
            case "campaign":
                return self.campaign.name
            case "item_id":
                return self.owner_item.pk
            case "app_label":
                return "labelapp"
            case "kind":  # a report
                return "leaderboard"
            case "export_id":
                return Export.objects.get().pk
            case "job_kind":
                return "generation"
            case "job_id":
                return GenerationJob.objects.get().pk
            case "content_type_id":
                return ContentType.objects.get_for_model(Campaign).pk
            case "id":
                return self.owner.pk
            case "object_id" if route.admin_model is None:  # the admin's view-on-site
                return self.campaign.pk
            case "object_id":
                return self.admin_object(route.admin_model)
        raise AssertionError(
            f"{route.key}: no value for the URL parameter {param!r}; add one to World.argument"
        )

    @staticmethod
    def admin_object(model: str | None) -> Any:
        row = apps.get_model(model).objects.order_by("pk").first()
        assert row is not None, f"the matrix needs one {model} row for its admin pages: add one to `world`"
        return row.pk

    def client(self, role: str, route: Route) -> Client:
        user = {"owner": self.owner, "other": self.other, "staff": self.staff}.get(role)
        if route.pattern.startswith("api/"):  # the API as its clients use it: a token, no session
            if user is None:
                return Client()
            return Client(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
        client = Client()
        if user is not None:
            client.force_login(user)
        return client


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db, generator, settings, tmp_path) -> World:
    campaign = Campaign.objects.create(name="prefs", title="Preferences", labels_per_item=2)
    for number in range(4):
        prompt = Prompt.objects.create(campaign=campaign, text=f"Question {number}?")
        candidates_add(prompt, generator, [f"first answer {number}", f"second answer {number}"])
    items_build(campaign=campaign, kind="pairwise", seed=1)
    owner = user_upsert(username="alice-labeller", password="alice password")
    other = user_upsert(username="bob-labeller", password="bob password")
    staff = user_upsert(username="carol-staff", password="carol password", staff=True)
    LabellerProfile.objects.create(user=owner)
    LabellerProfile.objects.create(user=other, skills=["reviewer"])
    shared = lease_next(labeller=owner, campaign=campaign)
    _label(owner, shared, OWNER_SECRET)
    assert lease_next(labeller=other, campaign=campaign) == shared  # partly labelled items come first
    _label(other, shared, OTHER_SECRET)
    owner_item = lease_next(labeller=owner, campaign=campaign)
    other_item = campaign.items.exclude(pk__in=[shared.pk, owner_item.pk]).first()
    Lease.objects.create(item=other_item, labeller=other, expires_at=timezone.now() + timedelta(hours=1))
    Skip.objects.create(item=other_item, labeller=staff, reason="seen in the admin only")
    GenerationJob.objects.create(
        campaign=campaign, generator=generator, params={"n": 1}, progress_total=4, status=JobStatus.FAILED
    )
    JudgeJob.objects.create(campaign=campaign, generator=generator, status=JobStatus.FAILED)
    EmbeddingJob.objects.create(campaign=campaign, model="all-MiniLM-L6-v2")
    Continuation.objects.create(campaign=campaign, item=shared, status=JobStatus.FAILED)
    settings.LABELAPP_EXPORT_DIR = tmp_path
    (tmp_path / "prefs.jsonl").write_text('{"prompt": "Question 0?"}\n')
    export = Export.objects.create(
        campaign=campaign,
        format="dpo",
        path=str(tmp_path / "prefs.jsonl"),
        download_path=str(tmp_path / "prefs.jsonl"),
        status=JobStatus.SUCCEEDED,
        progress_done=1,
    )
    audit_record(actor=staff, action="export.create", target_type="export", target_ids=[export.pk])
    JudgeLabel.objects.create(item=shared, generator=generator, value={"choice": "a"}, raw_output="A")
    SourceLabel.objects.create(item=shared, source="hh-rlhf", format="hh-rlhf", value={"choice": "b"})
    Token.objects.create(user=staff)
    Client().post("/accounts/login/", {"username": "nobody", "password": "wrong"})  # an access attempt
    Client().post("/accounts/login/", {"username": "carol-staff", "password": "carol password"})  # a log
    assert AuditEntry.objects.exists()
    return World(owner, other, staff, campaign, owner_item, other_item)


def _label(labeller: User, item: Item, rationale: str) -> None:
    label_submit(
        item_id=item.pk,
        labeller=labeller,
        value={"choice": "a", "rationale": rationale},
        idempotency_key=f"secret-{labeller.pk}",
        campaign=None,
        lease_next=False,
    )


# --- the tests -------------------------------------------------------------------------------------------


def _answer(status: int, location: str, expected: Expected) -> bool:
    if expected == LOGIN:
        return status == 302 and location.startswith("/accounts/login/?next=")
    if expected == ADMIN_LOGIN:
        return status == 302 and location.startswith("/admin/login/?next=")
    return status == expected


def _leaks(role: str, body: str, world: World) -> list[str]:
    """What a labeller's answer shows of the other labeller: their name or their label's rationale."""
    others = {"owner": (world.other.username, OTHER_SECRET), "other": (world.owner.username, OWNER_SECRET)}
    return [secret for secret in others.get(role, ()) if secret in body]


def test_no_rule_is_left_for_a_route_that_is_gone():
    keys = {route.key for route in ROUTES}
    models = {route.admin_model for route in ROUTES if route.admin_model}
    assert set(RULES) - keys == set() and set(ADMIN_RULES) - keys == set()
    assert set(ADMIN_MODELS) - models == set()


# One test per route; a model's admin pages (read-only requests) share one test, to keep the matrix quick.
GROUPS: dict[str, list[Route]] = {}
for _route in ROUTES:
    GROUPS.setdefault(f"admin:{_route.admin_model}" if _route.admin_view else _route.key, []).append(_route)


@pytest.mark.parametrize("group", GROUPS)
def test_every_route_answers_each_role_as_its_rule_says(group: str, world: World):
    wrong = []
    for route in GROUPS[group]:
        rule = rule_for(route)
        assert rule is not None, (
            f"{route.key} ({route.pattern}) has no rule in tests/system/test_authorization.py: add what "
            "anonymous, a labeller, another labeller and staff may do there"
        )
        path = world.url(route)
        for role in ROLES:
            response = _request(world.client(role, route), rule, route, path)
            location = response.get("Location", "")
            if not _answer(response.status_code, location, rule.expected(role)):
                wrong.append(
                    f"{rule.method} {path} as {role}: expected {rule.expected(role)}, got {response.status_code} {location}"
                )
            body = b"".join(response.streaming_content) if response.streaming else response.content
            if leaked := _leaks(role, body.decode(errors="replace"), world):
                wrong.append(f"{rule.method} {path} as {role}: the answer shows {leaked}")
    assert not wrong, "\n".join(wrong)


def _request(client: Client, rule: Rule, route: Route, path: str) -> Any:
    if rule.method == "GET":
        return client.get(path)
    if route.pattern.startswith("api/"):
        return client.post(path, rule.data, content_type="application/json")
    return client.post(path, rule.data)


POSTS = [route for route in ROUTES if (rule := rule_for(route)) is not None and rule.method == "POST"]


@pytest.mark.parametrize("route", POSTS, ids=[route.key for route in POSTS])
def test_every_post_with_a_session_needs_the_csrf_token(route: Route, world: World):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.owner)  # the session alone, no token: a page, or the API from a page
    response = _request(client, rule_for(route), route, world.url(route))
    assert response.status_code == 403, f"{route.key} accepted a POST without a CSRF token"


@pytest.mark.parametrize("action", ["", "skip/", "heartbeat/"])
def test_an_item_answers_only_under_its_own_campaign(world: World, action: str):
    """The owner's item, under the URL of another campaign open to them, is a 404 like any other's item."""
    Campaign.objects.create(name="elsewhere", labels_per_item=1)
    client = world.client("owner", Route("label-submit", "label-submit", "label/"))
    response = client.post(f"/label/elsewhere/items/{world.owner_item.pk}/{action}", LABEL)
    assert response.status_code == 404
    assert world.owner_item.leases.filter(labeller=world.owner).exists() and not world.owner.skips.exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/items/{id}/skip/"),
        ("get", "/api/v1/exports/{id}/"),
        ("post", "/label/prefs/items/{id}/"),
    ],
)
def test_an_id_too_long_for_the_database_is_a_404_not_a_500(world: World, method: str, path: str):
    client = world.client("staff", Route("x", None, path.lstrip("/")))
    assert getattr(client, method)(path.format(id="9" * 30)).status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/label/a%00b/"),
        ("post", "/label/a%00b/items/{id}/"),
        ("get", "/manage/prefs/reports/a%00b/"),
        ("post", "/api/v1/campaigns/a%00b/next-item/"),
        ("get", "/api/v1/campaigns/a%00b/progress/"),
    ],
)
def test_a_name_holding_nul_is_a_404_not_a_500(world: World, method: str, path: str):
    """PostgreSQL cannot take NUL in a query: such a URL matches no route, on both databases."""
    client = world.client("staff", Route("x", None, path.lstrip("/")))
    response = getattr(client, method)(path.format(id=world.owner_item.pk))
    assert response.status_code == 404

"""Text from models, labellers and staff is inert in every page that shows it: prompts and completions
(shown as Markdown), rationales and skip reasons (shown to staff), campaign titles and instructions, job
errors. "Inert" is read off the HTML: no script but the site's own, no event handler attribute, no
javascript:/data: URL, no style attribute, no frame or object; and the text itself is on the page."""

from html.parser import HTMLParser

import pytest
from django.test import Client

from labelapp.kinds import KINDS
from labelapp.kinds.base import BuildOptions
from labelapp.models import (
    AuditEntry,
    Campaign,
    GenerationJob,
    Generator,
    JobStatus,
    JudgeLabel,
    Label,
    LabellerProfile,
    Prompt,
    Skip,
)
from labelapp.services.audit import audit_record
from labelapp.services.items import items_build
from labelapp.services.labels import label_submit
from labelapp.services.leases import lease_next
from tests.factories import candidates_add

RAW_HTML = [
    '<script>alert("xss")</script>',
    "<img src=x onerror=\"alert('xss')\">",
    "<script>window.__xss = 'script'</script><img src=x onerror=\"window.__xss = 'img'\">",
    "<a href=\"javascript:alert('xss')\">click</a>",
    '<svg onload="alert(1)"><circle r="9"/></svg>',
    "<details open ontoggle=\"alert('xss')\">x</details>",
    '<iframe src="javascript:alert(1)"></iframe><object data="x.swf"></object>',
    '<div style="background:url(javascript:alert(1))">styled</div>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
]
MARKDOWN = [  # Markdown that tries to smuggle HTML or script URLs past the renderer
    '[click me](javascript:alert("xss"))',
    "[click me](JaVaScRiPt:alert(1))",
    "[click me](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '![pic](x" onerror="alert(1))',
    "![pic](javascript:alert(1))",
    "[ref]: javascript:alert(1)\n\n[click me][ref]",
    "<a href='javascript:alert(1)'>**bold link**</a>",
    "`<script>alert(1)</script>` in code, and\n\n```\n<script>alert(2)</script>\n```",
    "<<script>script>alert(1)<</script>/script>",
    "&lt;script&gt;alert(1)&lt;/script&gt; and &#x6A;avascript:alert(1)",
]
PAYLOADS = RAW_HTML + MARKDOWN
HOSTILE = "\n\n".join(PAYLOADS)
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "poster", "background"}
FORBIDDEN_TAGS = {"iframe", "frame", "object", "embed", "base", "applet"}


class ActiveContent(HTMLParser):
    """Collects what in a page could run script or load something the page did not mean to."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: (value or "") for name, value in attrs}
        src = values.get("src", "")
        if tag == "script" and not (src.startswith("/") and not src.startswith("//")):
            self.found.append(f"<script> not from this site: {attrs}")
        if tag in FORBIDDEN_TAGS:
            self.found.append(f"<{tag}>")
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            self.found.append(f"<meta refresh>: {attrs}")
        for name, value in values.items():
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name == "style":
                self.found.append(f"<{tag} style=...>")
            scheme = "".join(value.split()).lower()
            dangerous = scheme.startswith(("javascript:", "vbscript:", "data:"))
            if name in URL_ATTRIBUTES and dangerous and not (tag == "link" and value == "data:,"):  # favicon
                self.found.append(f"<{tag} {name}={value!r}>")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def active_content(html: str) -> tuple[list[str], str]:
    parser = ActiveContent()
    parser.feed(html)
    parser.close()
    return parser.found, " ".join(parser.text)


def test_the_checker_finds_each_kind_of_active_content():
    for payload in RAW_HTML:  # as they would be if a page did not escape them
        assert active_content(payload)[0], payload
    assert active_content('<script src="/static/vendor/htmx.js"></script><a href="/x">x</a>')[0] == []


@pytest.fixture
def hostile(db, generator, labeller, other_labeller, staff):
    """A campaign of each kind whose every text field a labeller, model or staff member could fill is hostile."""
    campaigns = []
    second = Generator.objects.create(name="second-model", model="embedded")
    for kind in KINDS:
        campaign = Campaign.objects.create(
            name=f"xss-{kind}",
            kind=kind,
            title=f"Title MARK-title {PAYLOADS[0]}",
            instructions=f"Instructions MARK-instructions\n\n{HOSTILE}",
            labels_per_item=2,
        )
        prompt = Prompt.objects.create(campaign=campaign, text=f"Prompt MARK-prompt\n\n{HOSTILE}")
        chat = Prompt.objects.create(
            campaign=campaign,
            text="chat",
            messages=[{"role": "user", "content": f"Chat MARK-chat\n\n{HOSTILE}"}],
        )
        for source in (prompt, chat):
            for model in (generator, second):  # two models, for the kinds that compare them
                texts = [f"Completion MARK-completion-{model.name}-{n}\n\n{HOSTILE}" for n in range(4)]
                candidates_add(source, model, texts)
        options = BuildOptions(generators=(generator.name, second.name))
        assert items_build(campaign=campaign, kind=kind, options=options, seed=1).created, kind
        campaigns.append(campaign)
    pairwise = Campaign.objects.get(kind="pairwise")
    item = lease_next(labeller=other_labeller, campaign=pairwise)
    label_submit(
        item_id=item.pk,
        labeller=other_labeller,
        value={"choice": "a", "rationale": f"Rationale MARK-rationale {HOSTILE}"},
        idempotency_key="k",
        campaign=None,
        lease_next=False,
    )
    Skip.objects.create(item=item, labeller=labeller, reason=f"Skip MARK-skip {PAYLOADS[1]}")
    LabellerProfile.objects.create(
        user=other_labeller, suspended=True, suspended_reason=f"MARK-suspended {PAYLOADS[1]}"
    )
    GenerationJob.objects.create(
        campaign=pairwise,
        generator=generator,
        params={"n": 1, "temperature": PAYLOADS[0]},
        status=JobStatus.FAILED,
        error=f"Server said MARK-error {PAYLOADS[0]} {PAYLOADS[1]}",
    )
    judge = Generator.objects.create(name=f"judge MARK-generator {PAYLOADS[1]}", model="embedded")
    candidates_add(Prompt.objects.filter(campaign=pairwise).first(), judge, [f"MARK-judged {HOSTILE}"])
    JudgeLabel.objects.create(
        item=item,
        generator=judge,
        value=None,
        parse_error=f"MARK-parse {PAYLOADS[1]}",
        raw_output=f"MARK-judge-output {HOSTILE}",
        rendered_prompt=f"MARK-rendered {HOSTILE}",
    )
    audit_record(
        actor=staff,
        action="label.change",
        target_type="label",
        target_ids=[1],
        detail={"x": f"MARK-audit {HOSTILE}"},
    )
    return campaigns


def pages_for(campaigns: list[Campaign]) -> list[tuple[str, str, str]]:
    """(who, path, a mark the page must show) for every page that shows the hostile text."""
    pairwise = Campaign.objects.get(kind="pairwise")
    label = Label.objects.get()
    prompt = Prompt.objects.filter(campaign=pairwise).first()
    candidate = prompt.candidates.first()
    job = GenerationJob.objects.get()
    pages = [("labeller", "/", "MARK-title"), ("staff", "/", "MARK-title")]
    for campaign in campaigns:
        pages += [
            ("labeller", f"/label/{campaign.name}/", "MARK-completion"),
            ("labeller", f"/label/{campaign.name}/", "MARK-instructions"),
            ("staff", f"/manage/{campaign.name}/", "MARK-title"),
            ("staff", f"/manage/{campaign.name}/dashboard/", "MARK-title"),
        ]
    pages += [
        ("staff", f"/manage/{pairwise.name}/", "MARK-error"),
        ("staff", f"/manage/{pairwise.name}/dashboard/", "MARK-suspended"),
        ("staff", f"/manage/{pairwise.name}/", "MARK-generator"),
        ("staff", f"/manage/{pairwise.name}/reports/", "MARK-title"),
        ("staff", f"/manage/{pairwise.name}/reports/leaderboard/", "MARK-title"),
        ("staff", f"/manage/{pairwise.name}/reports/judge/", "MARK-generator"),
        ("staff", "/admin/labelapp/judgelabel/", "MARK-parse"),
        ("staff", f"/admin/labelapp/judgelabel/{JudgeLabel.objects.get().pk}/change/", "MARK-judge-output"),
        ("staff", "/admin/labelapp/generator/", "MARK-generator"),
        ("staff", "/admin/labelapp/campaign/", "MARK-title"),
        ("staff", f"/admin/labelapp/campaign/{pairwise.pk}/change/", "MARK-instructions"),
        ("staff", "/admin/labelapp/prompt/", "MARK-prompt"),
        ("staff", f"/admin/labelapp/prompt/{prompt.pk}/change/", "MARK-prompt"),
        ("staff", f"/admin/labelapp/candidate/{candidate.pk}/change/", "MARK-completion"),
        ("staff", "/admin/labelapp/label/", "MARK-rationale"),
        ("staff", f"/admin/labelapp/label/{label.pk}/change/", "MARK-rationale"),
        ("staff", "/admin/labelapp/skip/", "MARK-skip"),
        ("staff", "/admin/labelapp/labellerprofile/", "MARK-suspended"),
        ("staff", f"/admin/labelapp/generationjob/{job.pk}/change/", "MARK-error"),
        ("staff", f"/admin/labelapp/auditentry/{AuditEntry.objects.get().pk}/change/", "MARK-audit"),
    ]
    return pages


def test_hostile_text_is_shown_inert_on_every_page(hostile, labeller, staff):
    clients = {"labeller": Client(), "staff": Client()}
    clients["labeller"].force_login(labeller)
    clients["staff"].force_login(staff)
    problems = []
    for who, path, mark in pages_for(hostile):
        response = clients[who].get(path)
        assert response.status_code == 200, f"{who} {path}: {response.status_code}"
        found, text = active_content(response.content.decode())
        if found:
            problems.append(f"{who} {path}: {found}")
        if mark not in text:
            problems.append(f"{who} {path}: {mark} is not on the page, so this proves nothing")
    assert not problems, "\n".join(problems)


def test_the_label_fragment_htmx_swaps_in_is_inert(hostile, labeller, client_for):
    client = client_for(labeller)
    client.get("/label/xss-pairwise/")
    item = labeller.leases.get().item
    fragment = client.post(
        f"/label/xss-pairwise/items/{item.pk}/",
        {"choice": "a", "idempotency_key": "k2"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    found, text = active_content(fragment)
    assert found == [] and "MARK-completion" in text

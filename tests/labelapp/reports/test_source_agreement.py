"""The source-agreement report: each imported dataset's verdicts against the labellers' majority."""

import json

import pytest
from django.core.management import call_command

from labelapp.models import Campaign, SourceLabel
from labelapp.reports.source_agreement import HumanAnswer, source_agreement
from labelapp.services.labels import label_submit
from labelapp.services.leases import lease_next
from tests.factories import shown_order
from tests.labelapp.importers.conftest import FILES, import_file


def test_kappa_counts_and_differences_of_one_source():
    verdicts = {1: "a", 2: "a", 3: "b", 4: "b", 5: "a", 6: "b"}
    human = {
        1: HumanAnswer("a", 2),
        2: HumanAnswer("b", 2),  # differs
        3: HumanAnswer("b", 3),
        4: HumanAnswer(None, 2),  # split evenly: counted, not compared
        5: HumanAnswer("a", 1),
    }  # 6: not labelled yet
    result = source_agreement("hh-rlhf", verdicts, human, values=("a", "b", "tie", "both_bad"))
    assert (result.items, result.compared, result.human_no_majority, result.human_unlabelled) == (6, 4, 1, 1)
    assert [(d.item_id, d.source_answer, d.human_answer, d.labels) for d in result.differences] == [
        (2, "a", "b", 2)
    ]
    # humans a, b, b, a against the source a, a, b, a: p_o = 3/4, p_e = (2*3 + 2*1) / 16 = 1/2
    assert result.kappa.kappa == pytest.approx(0.5)
    assert result.kappa.confusion[1][0] == 1  # humans b, source a


def _label(campaign, labeller, agree_with_source: bool, key: str):
    item = lease_next(labeller=labeller, campaign=campaign)
    source = SourceLabel.objects.get(item=item).value["choice"]
    canonical = source if agree_with_source else {"a": "b", "b": "a"}[source]
    shown = shown_order(item, labeller).positions
    label_submit(
        campaign=None,
        lease_next=False,
        item_id=item.pk,
        labeller=labeller,
        value={"choice": "ab"[shown["ab".index(canonical)]]},
        idempotency_key=key,
    )
    return item


def test_the_report_compares_an_imported_dataset_with_its_relabelling(
    campaign, labeller, staff, client_for, tmp_path
):
    campaign.labels_per_item = 1
    campaign.save()
    import_file(FILES / "hh-rlhf.jsonl", campaign, "hh-rlhf", source="Anthropic/hh-rlhf")
    _label(campaign, labeller, agree_with_source=True, key="1")
    differing = _label(campaign, labeller, agree_with_source=False, key="2")
    out = tmp_path / "agreement.json"
    call_command("report", "--campaign", campaign.name, "--kind", "source-agreement", "--out", str(out))
    data = json.loads(out.read_text())
    (source,) = data["sources"]
    assert (source["source"], source["items"], source["compared"], source["human_unlabelled"]) == (
        "Anthropic/hh-rlhf",
        3,
        2,
        1,
    )
    assert source["kappa"]["observed_agreement"] == 0.5
    (difference,) = source["differences"]
    assert difference["item_id"] == differing.pk and difference["labels"] == 1
    assert difference["prompt"] == differing.prompt.display_text[:160]

    page = client_for(staff).get(f"/manage/{campaign.name}/reports/source-agreement/").content.decode()
    assert 'data-source="Anthropic/hh-rlhf"' in page and "κ =" in page
    assert f"/admin/labelapp/item/{differing.pk}/change/" in page
    assert differing.prompt.messages[-1]["content"][:40] in page


def test_a_ranking_source_is_compared_on_the_best_answer(db, labeller, tmp_path):
    campaign = Campaign.objects.create(name="ranks", kind="ranking", labels_per_item=1)
    import_file(FILES / "ultrafeedback.jsonl", campaign, "ultrafeedback")
    item = lease_next(labeller=labeller, campaign=campaign)
    shown = shown_order(item, labeller).positions
    order = ",".join("ABCD"[shown[index]] for index in sorted(shown))  # canonical order: the first best
    label_submit(
        campaign=None,
        lease_next=False,
        item_id=item.pk,
        labeller=labeller,
        value={"order": order},
        idempotency_key="r1",
    )
    out = tmp_path / "agreement.json"
    call_command("report", "--campaign", campaign.name, "--kind", "source-agreement", "--out", str(out))
    (source,) = json.loads(out.read_text())["sources"]
    assert (source["source"], source["compared"], source["differences"]) == ("ultrafeedback", 1, [])
    assert json.loads(out.read_text())["field"] == "top"

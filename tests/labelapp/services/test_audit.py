"""The audit log: every admin write on labels, items and exports, and every dataset export, says who did
what to which rows (with the values before and after), and nobody can edit or delete it from the admin."""

import json

from django.core.management import call_command

from labelapp.models import AuditEntry, Export, Label
from labelapp.services.labels import label_submit
from labelapp.services.leases import lease_next


def labelled(campaign, labeller, item_count: int = 1) -> list[Label]:
    labels = []
    for number in range(item_count):
        item = lease_next(labeller=labeller, campaign=campaign)
        label = label_submit(
            item_id=item.pk,
            labeller=labeller,
            value={"choice": "a", "rationale": "clear"},
            idempotency_key=f"k{number}",
            campaign=None,
            lease_next=False,
        ).label
        label.refresh_from_db()  # the value as stored
        labels.append(label)
    return labels


def test_a_label_changed_in_the_admin_is_recorded_with_its_values_before_and_after(
    campaign, pairwise_items, labeller, staff, client_for
):
    (label,) = labelled(campaign, labeller)
    changed = {"choice": "tie", "strength": None, "rationale": "on second thought, a tie"}
    response = client_for(staff).post(
        f"/admin/labelapp/label/{label.pk}/change/",
        {
            "item": label.item_id,
            "labeller": labeller.pk,
            "value": json.dumps(changed),
            "seconds_spent": label.seconds_spent,
            "idempotency_key": label.idempotency_key,
            "gold_correct": "unknown",
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.actor_name, entry.action, entry.target_ids) == (
        staff,
        staff.username,
        "label.change",
        [label.pk],
    )
    assert entry.detail == {"before": {"value": label.value}, "after": {"value": changed}}
    stored = Label.objects.get(pk=label.pk)
    assert (
        stored.value == changed and stored.shown_order == label.shown_order is not None
    )  # the order is kept
    assert label.value != changed


def test_labels_deleted_in_the_admin_are_recorded_as_they_were(
    campaign, pairwise_items, labeller, staff, client_for
):
    labels = labelled(campaign, labeller, item_count=2)
    ids = [label.pk for label in labels]
    client_for(staff).post(
        "/admin/labelapp/label/", {"action": "delete_selected", "_selected_action": ids, "post": "yes"}
    )
    assert not Label.objects.exists()
    entry = AuditEntry.objects.get()
    assert (entry.action, sorted(entry.target_ids)) == ("label.delete", sorted(ids))
    assert {row["id"]: row["value"] for row in entry.detail["rows"]} == {
        label.pk: label.value for label in labels
    }
    assert {row["labeller"] for row in entry.detail["rows"]} == {labeller.pk}


def test_an_admin_action_is_recorded_with_the_rows_it_was_run_on(campaign, pairwise_items, staff, client_for):
    first, second, _ = pairwise_items
    response = client_for(staff).post(
        "/admin/labelapp/item/", {"action": "raise_priority", "_selected_action": [first.pk, second.pk]}
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get()
    assert (entry.actor_name, entry.action, entry.target_type) == (
        staff.username,
        "item.raise_priority",
        "item",
    )
    assert sorted(entry.target_ids) == sorted([first.pk, second.pk])


def test_an_export_is_recorded_with_its_file_and_rows(campaign, pairwise_items, labeller, tmp_path):
    labelled(campaign, labeller)
    out = tmp_path / "prefs.jsonl"
    call_command("export_dataset", campaign=campaign.name, format="dpo", out=str(out))
    export = Export.objects.get()
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.actor_name, entry.action, entry.target_ids) == (
        None,
        "command line",
        "export.create",
        [export.pk],
    )
    assert entry.detail == {
        "campaign": "prefs",
        "format": "dpo",
        "path": str(out.resolve()),
        "command": f"python manage.py export_dataset --campaign prefs --format dpo --out {out}",
    }


def test_an_export_record_deleted_in_the_admin_is_recorded(campaign, staff, client_for):
    export = Export.objects.create(campaign=campaign, format="dpo", path="/data/prefs.jsonl", progress_done=3)
    client_for(staff).post(f"/admin/labelapp/export/{export.pk}/delete/", {"post": "yes"})
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.target_ids) == ("export.delete", [export.pk])
    assert entry.detail["rows"][0]["path"] == "/data/prefs.jsonl"


def test_staff_read_the_log_but_cannot_add_edit_or_delete_entries(
    campaign, pairwise_items, staff, client_for
):
    client = client_for(staff)
    client.post(
        "/admin/labelapp/item/", {"action": "lower_priority", "_selected_action": [pairwise_items[0].pk]}
    )
    entry = AuditEntry.objects.get()
    listing = client.get("/admin/labelapp/auditentry/").content.decode()
    assert "item.lower_priority" in listing and staff.username in listing

    assert client.get("/admin/labelapp/auditentry/add/").status_code == 403
    assert client.get(f"/admin/labelapp/auditentry/{entry.pk}/delete/").status_code == 403
    edit = client.post(f"/admin/labelapp/auditentry/{entry.pk}/change/", {"action": "nothing happened"})
    assert edit.status_code == 403
    entry.refresh_from_db()
    assert entry.action == "item.lower_priority"

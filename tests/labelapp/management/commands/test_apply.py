from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from labelapp.models import Campaign

SMALLEST = """
[[campaign]]
name = "hh"
kind = "pairwise"
labels_per_item = 1
"""


def run(*args: str) -> str:
    out = StringIO()
    call_command("apply", *args, stdout=out)
    return out.getvalue()


def test_the_smallest_file_creates_one_campaign_then_changes_nothing(tmp_path, db):
    path = tmp_path / "hh.toml"
    path.write_text(SMALLEST)

    assert run(str(path), "--dry-run").splitlines() == [
        "created    campaign 'hh': pairwise, labels_per_item 1",
        "Dry run: nothing was changed.",
    ]
    assert not Campaign.objects.exists()
    assert "Applied hh.toml." in run(str(path))
    assert Campaign.objects.get().labels_per_item == 1
    assert run(str(path)).splitlines() == ["unchanged  campaign 'hh'", "hh.toml: nothing to change."]


def test_a_wrong_type_fails_the_command_naming_file_and_key(tmp_path, db):
    path = tmp_path / "hh.toml"
    path.write_text(SMALLEST.replace("labels_per_item = 1", "labels_per_item = 1.5"))
    with pytest.raises(
        CommandError,
        match=r"hh.toml: \[\[campaign\]\] 1 \('hh'\), key 'labels_per_item': must be an integer, not a number",
    ):
        run(str(path))
    with pytest.raises(CommandError, match="nothere.toml: no such file"):
        run(str(tmp_path / "nothere.toml"))

import csv

import pytest
from django.core.management import CommandError

from labelapp.models import Candidate, Prompt
from tests.labelapp.importers.conftest import FILES, import_file, imported_items, preferred

SHARED = "Because the ocean reflects into it."


@pytest.mark.parametrize("name", ["shp.jsonl", "shp.csv"])
def test_the_post_is_the_prompt_and_the_more_upvoted_comment_is_the_source_label(campaign_of, name):
    campaign = campaign_of("pairwise")
    said = import_file(FILES / name, campaign, "shp")
    # The comment in both pairs is one answer; the post is one prompt.
    assert f"{name}: 2 rows; new: 1 prompt, 3 candidates, 2 items, 2 source labels" in said
    first, second = imported_items(campaign)
    assert first.prompt.startswith("Explain like I'm five: why is the sky blue?")
    assert preferred(first) == "Sunlight scatters off air molecules, and blue scatters most."
    assert preferred(second).startswith("Our eyes are more sensitive to blue than violet")
    assert first.answers == ("Sunlight scatters off air molecules, and blue scatters most.", SHARED)  # A, B
    assert first.source_raw == {
        "labels": 1,
        "upvote_ratio": 0.99,
        "score_A": 52.0,
        "score_B": 6.0,
        "created_at_utc_A": 1593385113.0,
        "created_at_utc_B": 1593378521.0,
        "seconds_difference": 6592.0,
        "score_ratio": 8.67,
        "c_root_id_A": "fv2ycsr",
        "c_root_id_B": "fv2tgx8",
    }
    assert Prompt.objects.get().metadata == {"post_id": "himc90", "domain": "explainlikeimfive_train"}
    shared = Candidate.objects.get(text=SHARED)
    assert shared.metadata == {"c_root_id": "fv2tgx8", "created_at_utc": 1593378521.0, "score": 6.0}
    assert shared.generator.name == "shp"


def test_csv_and_jsonl_of_one_dataset_are_the_same_rows(campaign_of):
    campaign = campaign_of("pairwise")
    import_file(FILES / "shp.jsonl", campaign, "shp")
    assert "shp.csv: 2 rows; 0 new;" in import_file(FILES / "shp.csv", campaign, "shp")


@pytest.mark.parametrize(
    ("replace", "error"),
    [
        (("labels", "1", "2"), "shp.csv, line 2, field 'labels': must be 1 (A preferred) or 0 (B preferred)"),
        (("score_A", "52", "many"), "shp.csv, line 2, field 'score_A': must be a number, not 'many'"),
    ],
)
def test_a_bad_cell_is_named(campaign_of, tmp_path, replace, error):
    with (FILES / "shp.csv").open(newline="") as published:
        rows = list(csv.DictReader(published))
    column, old, new = replace
    assert rows[0][column] == old
    rows[0][column] = new
    path = tmp_path / "shp.csv"
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(CommandError) as refused:
        import_file(path, campaign_of("pairwise"), "shp")
    assert str(refused.value).startswith(error)
    assert not Candidate.objects.exists()


def test_a_csv_without_a_published_column_is_refused_at_its_header(campaign_of, tmp_path):
    path = tmp_path / "shp.csv"
    path.write_text("history,human_ref_A,human_ref_B\npost,a,b\n")
    with pytest.raises(
        CommandError, match=r"^shp\.csv, line 1, field 'labels': the header needs a 'labels' column"
    ):
        import_file(path, campaign_of("pairwise"), "shp")

"""Fault: a 50 MB prompt file with one bad line in the middle (issue 8, production readiness).

Nothing is imported and the error names the file, the line and the field; the same file without the
bad line imports whole. The file is read line by line and stored in batches inside one transaction
(bench/import_prompts.py measures the time and memory).
"""

import csv
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from labelapp.models import Prompt

pytestmark = pytest.mark.fault

LINES = 100_000  # of about 500 bytes: 50 MB
BAD = LINES // 2 + 1
FILLER = "Explain step by step how this works, which assumptions it makes and where it tends to fail. " * 5


def record(number: int) -> dict:
    return {
        "prompt": f"Question {number}: {FILLER}"[:450],
        "reference_answer": f"Answer {number}",
        "n": number,
    }


def jsonl_write(path: Path, bad_line: str | None) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for number in range(1, LINES + 1):
            out.write(
                (bad_line if number == BAD and bad_line is not None else json.dumps(record(number))) + "\n"
            )
    assert path.stat().st_size > 45_000_000
    return path


@pytest.mark.parametrize(
    ("bad_line", "error"),
    [
        (
            json.dumps({"reference_answer": "no prompt on this line"}),
            f"big.jsonl, line {BAD}, field 'prompt': exactly one of 'prompt' or 'messages' is required",
        ),
        (
            '{"prompt": "a quote left open}',
            f"big.jsonl, line {BAD}: not valid JSON (Unterminated string starting at",
        ),
    ],
    ids=["missing-field", "broken-json"],
)
def test_a_50_mb_jsonl_file_with_one_bad_line_imports_nothing_and_names_the_line(
    campaign, tmp_path, bad_line, error
):
    big = jsonl_write(tmp_path / "big.jsonl", bad_line)
    with pytest.raises(CommandError) as refused:
        call_command("import_prompts", str(big), campaign=campaign.name)
    assert str(refused.value).startswith(error)
    assert Prompt.objects.count() == 0


def test_the_same_50_mb_jsonl_file_without_the_bad_line_imports_whole(campaign, tmp_path):
    big = jsonl_write(tmp_path / "big.jsonl", None)
    call_command("import_prompts", str(big), campaign=campaign.name)
    assert Prompt.objects.filter(campaign=campaign).count() == LINES
    first, last = Prompt.objects.order_by("id")[:1].get(), Prompt.objects.order_by("-id")[:1].get()
    assert (first.text, first.reference_answer, first.metadata, first.source) == (
        record(1)["prompt"],
        "Answer 1",
        {"n": 1},
        "big.jsonl:1",
    )
    assert (last.source, last.metadata) == (f"big.jsonl:{LINES}", {"n": LINES})


def test_a_50_mb_csv_file_with_one_bad_line_imports_nothing_and_names_the_line(campaign, tmp_path):
    """The same for CSV, whose line numbers count physical lines: every prompt here spans two."""
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["prompt", "reference_answer", "n"])
        for number in range(1, LINES + 1):
            row = record(number)
            prompt = "" if number == BAD else row["prompt"].replace(": ", ":\n", 1)
            writer.writerow([prompt, row["reference_answer"], number])
    assert path.stat().st_size > 45_000_000
    with pytest.raises(CommandError) as refused:
        call_command("import_prompts", str(path), campaign=campaign.name)
    # The header is line 1 and prompt n ends on line 2n + 1; the bad one is a single line.
    assert str(refused.value).startswith(
        f"big.csv, line {2 * BAD}, field 'prompt': exactly one of 'prompt' or 'messages' is required"
    )
    assert Prompt.objects.count() == 0

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from labelapp.models import Prompt

REPO = Path(__file__).resolve().parents[4]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_jsonl_with_text_and_messages_imports_every_field(campaign, tmp_path):
    path = write(
        tmp_path,
        "p.jsonl",
        json.dumps({"prompt": "What is 2+2?", "reference_answer": "4", "topic": "math"})
        + "\n\n"
        + json.dumps(
            {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}
        )
        + "\n",
    )
    call_command("import_prompts", str(path), campaign=campaign.name)
    text, chat = Prompt.objects.filter(campaign=campaign).order_by("id")
    assert (text.text, text.reference_answer, text.metadata, text.source) == (
        "What is 2+2?",
        "4",
        {"topic": "math"},
        "p.jsonl:1",
    )
    assert chat.messages == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    assert chat.source == "p.jsonl:3" and chat.is_conversational


def test_csv_imports_prompt_and_extra_columns_as_metadata(campaign, tmp_path):
    path = write(tmp_path, "p.csv", 'prompt,reference_answer,level\n"Say ""hi""",hi,easy\nCount to 3,,hard\n')
    call_command("import_prompts", str(path), campaign=campaign.name)
    first, second = Prompt.objects.order_by("id")
    assert (first.text, first.reference_answer, first.metadata) == ('Say "hi"', "hi", {"level": "easy"})
    assert (second.text, second.metadata, second.source) == ("Count to 3", {"level": "hard"}, "p.csv:3")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.jsonl", '{"prompt": "ok"}\n{"prompt": "broken",\n', "bad.jsonl, line 2: not valid JSON"),
        (
            "missing.jsonl",
            '{"prompt": "ok"}\n{"reference_answer": "x"}\n',
            "missing.jsonl, line 2, field 'prompt': exactly one of",
        ),
        ("empty.jsonl", "\n\n", "empty.jsonl: the file has no rows"),
        (
            "both.jsonl",
            '{"prompt": "a", "messages": [{"role": "user", "content": "b"}]}\n',
            "both.jsonl, line 1, field 'prompt'",
        ),
        (
            "role.jsonl",
            '{"messages": [{"role": "robot", "content": "b"}]}\n',
            "role.jsonl, line 1, field 'messages': message 0",
        ),
        (
            "last.jsonl",
            '{"messages": [{"role": "assistant", "content": "b"}]}\n',
            "last.jsonl, line 1, field 'messages': the last message",
        ),
        (
            "meta.jsonl",
            '{"prompt": "a", "metadata": [1]}\n',
            "meta.jsonl, line 1, field 'metadata': must be an object",
        ),
        ("array.jsonl", "[1, 2]\n", "array.jsonl, line 1: each line must be a JSON object"),
        ("nohead.csv", "question\nwhat?\n", "nohead.csv, line 1, field 'prompt': the header needs"),
        ("cells.csv", 'prompt\nfine\n"a",extra\n', "cells.csv, line 3: more cells than header columns"),
        ("prompts.txt", "hello\n", "prompts.txt: unknown file type"),
        (
            "nul.jsonl",
            '{"prompt": "a\\u0000b"}\n',
            "nul.jsonl, line 1, field 'prompt': holds a NUL character",
        ),
        (
            "surrogate.jsonl",
            '{"prompt": "ok"}\n{"prompt": "ok", "metadata": {"tags": ["x", "\\ud800"]}}\n',
            "surrogate.jsonl, line 2, field 'metadata.tags[1]': holds a lone surrogate (\\ud800)",
        ),
        (
            "chat.jsonl",
            '{"messages": [{"role": "user", "content": "\\udfff"}]}\n',
            "chat.jsonl, line 1, field 'messages[0].content': holds a lone surrogate",
        ),
        (
            "deep.jsonl",
            '{"prompt": "ok", "metadata": {"x": ' + "[" * 1000 + "]" * 1000 + "}}\n",
            "deep.jsonl, line 1, field 'metadata.x[0][0][0]",
        ),
        (
            "deeper.jsonl",
            '{"prompt": "ok", "metadata": {"x": ' + "[" * 3000 + "]" * 3000 + "}}\n",
            "deeper.jsonl, line 1: the line is nested deeper than 32 levels",
        ),
        ("nul.csv", "prompt,topic\nok,a\x00b\n", "nul.csv, line 2, field 'topic': holds a NUL character"),
        (
            "chat.csv",
            'messages\n"[{""role"": ""user"", ""content"": ""\\ud800""}]"\n',
            "chat.csv, line 2, field 'messages[0].content': holds a lone surrogate",
        ),
    ],
)
def test_bad_file_is_rejected_whole_with_file_line_and_field(campaign, tmp_path, name, content, message):
    path = write(tmp_path, name, content)
    with pytest.raises(CommandError) as raised:
        call_command("import_prompts", str(path), campaign=campaign.name)
    assert str(raised.value).startswith(message)
    assert Prompt.objects.count() == 0


def test_a_line_that_is_not_utf8_is_named_and_a_byte_order_mark_is_ignored(campaign, tmp_path):
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes('{"prompt": "ok"}\n{"prompt": "café"}\n'.encode("latin-1"))
    with pytest.raises(CommandError, match=r"^latin\.jsonl, line 2: not UTF-8 text"):
        call_command("import_prompts", str(latin), campaign=campaign.name)
    assert Prompt.objects.count() == 0
    marked = tmp_path / "bom.csv"
    marked.write_bytes("prompt\ncafé?\n".encode("utf-8-sig"))
    call_command("import_prompts", str(marked), campaign=campaign.name)
    assert Prompt.objects.get().text == "café?"


def test_unknown_campaign_is_named(db, tmp_path):
    path = write(tmp_path, "p.jsonl", '{"prompt": "hi"}\n')
    with pytest.raises(CommandError, match="Campaign 'nope' does not exist"):
        call_command("import_prompts", str(path), campaign="nope")


def test_missing_file_is_named(campaign, tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_prompts", str(tmp_path / "absent.jsonl"), campaign=campaign.name)


def test_command_line_exits_non_zero_with_one_line_naming_file_line_and_field(tmp_path):
    env = {"LABELAPP_VAR_DIR": str(tmp_path / "var"), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from labelapp.models import Campaign; Campaign.objects.create(name='c')",
        ],
        cwd=REPO,
        env=env,
        check=True,
    )
    bad = write(tmp_path, "bad.jsonl", '{"prompt": "ok"}\n{"messages": []}\n')
    done = subprocess.run(
        [sys.executable, "manage.py", "import_prompts", str(bad), "--campaign", "c"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "CommandError: bad.jsonl, line 2, field 'messages': must be a non-empty list of {role, content} objects"
    ]

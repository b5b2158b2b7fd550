import json

import pytest

from labelapp.errors import ApplicationError
from labelapp.user_text import MAX_DEPTH, json_check, json_problem, text_check


@pytest.mark.parametrize(
    ("text", "named"),
    [("a\x00b", "NUL character (\\u0000)"), ("a\ud800b", "lone surrogate (\\ud800)"), ("\udfff", "\\udfff")],
)
def test_text_with_nul_or_a_lone_surrogate_is_refused_naming_the_field(text, named):
    with pytest.raises(ApplicationError) as refused:
        text_check(text, field="critique")
    assert refused.value.message.startswith("Field 'critique' holds a") and named in refused.value.message
    assert refused.value.extra == {"field": "critique"}


@pytest.mark.parametrize("text", ["", "plain", "é ü ß", "日本語", "emoji 😀", json.loads('"\\ud83d\\ude00"')])
def test_any_valid_text_passes_as_it_is(text):
    assert text_check(text, field="critique") == text


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ('{"value": {"choice": "a", "critique": "a\\ud800b"}}', "value.critique", "lone surrogate"),
        ('{"value": {"order": ["A", "B\\u0000"]}}', "value.order[1]", "NUL"),
        ('{"value": {"dup\\udc00": 1}}', "value", "has a key that holds a lone surrogate"),
        ('[{"x": "\\u0000"}]', "[0].x", "NUL"),
        ('"\\ud800"', "body", "lone surrogate"),
    ],
)
def test_the_path_to_a_bad_string_in_json_is_named(body, field, reason):
    problem = json_problem(json.loads(body))
    assert problem is not None and problem.field == field and reason in problem.reason


def test_json_nested_deeper_than_the_limit_is_refused_and_at_the_limit_passes():
    at_limit = json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    assert json_check(at_limit, at="value") is at_limit
    with pytest.raises(ApplicationError) as refused:
        json_check([at_limit], at="value")
    innermost = "value" + "[0]" * MAX_DEPTH
    assert refused.value.message == f"Field '{innermost}' is nested deeper than {MAX_DEPTH} levels."
    assert json_problem({"a": "fine", "b": [1, 2.5, None, True, {"c": "also fine"}]}) is None

import pytest

from labelapp.errors import ApplicationError
from labelapp.models import Generator, Prompt
from labelapp.services.generators import generator_create, generator_update
from tests.factories import candidates_add


def test_a_generator_with_candidates_keeps_what_it_is_but_may_move_and_change_its_defaults(
    campaign, generator
):
    candidates_add(Prompt.objects.create(campaign=campaign, text="Q?"), generator, ["an answer"])
    for field, value in [("model", "other"), ("prompt_format", "raw"), ("raw_template", "{prompt}")]:
        with pytest.raises(
            ApplicationError, match=f"has outputs: changing {field} would put another model"
        ) as refused:
            generator_update(generator=generator, **{field: value})
        assert refused.value.extra["field"] == field
    assert generator_update(generator=generator, default_params={"temperature": 0.2}, concurrency=4) == [
        "default_params",
        "concurrency",
    ]
    assert Generator.objects.get(pk=generator.pk).default_params == {"temperature": 0.2}


def test_a_generator_without_outputs_may_change_its_model(generator):
    assert generator_update(generator=generator, model="elsewhere") == ["model"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"model": "m", "default_params": {"temperature": -1}}, "default_params"),
        ({"model": "m", "backend": "tgi"}, "__all__"),  # a remote backend needs its base URL
        ({"model": "m", "api_key_env": "lower-case"}, "api_key_env"),
    ],
)
def test_a_bad_generator_is_refused_naming_the_field(db, fields, field):
    with pytest.raises(ApplicationError) as refused:
        generator_create(name="g", **fields)
    assert refused.value.extra["field"] == field and not Generator.objects.exists()

from typing import Any

from django.db import transaction

import inference
from labelapp.errors import ApplicationError, model_validated
from labelapp.models import Generator

# What a generator is: once it has written candidates or judge verdicts, changing one of these would put
# another model's (or another prompting's) outputs under its name. Where it is served (base_url,
# api_key_env, concurrency) may change, and so may its default sampling params: each candidate keeps the
# params it was sampled with, and reports split a generator by them ("by generation config").
GENERATOR_FIELDS_FIXED_BY_OUTPUTS = ("backend", "model", "gguf_file", "prompt_format", "raw_template")


def _validated(generator: Generator) -> None:
    model_validated(generator)
    try:
        inference.SamplingParams.from_dict(generator.default_params)
    except inference.InferenceError as exc:
        raise ApplicationError(f"Field 'default_params': {exc}.", {"field": "default_params"}) from None


@transaction.atomic
def generator_create(*, name: str, **fields: Any) -> Generator:
    generator = Generator(name=name, **fields)
    _validated(generator)
    generator.save()
    return generator


@transaction.atomic
def generator_update(*, generator: Generator, **fields: Any) -> list[str]:
    """Set the fields that differ and return their names; refuses changing what the generator is
    (GENERATOR_FIELDS_FIXED_BY_OUTPUTS) once it has candidates or judge verdicts."""
    changed = [name for name, value in fields.items() if getattr(generator, name) != value]
    fixed = [name for name in changed if name in GENERATOR_FIELDS_FIXED_BY_OUTPUTS]
    if fixed and (generator.candidates.exists() or generator.judge_labels.exists()):
        raise ApplicationError(
            f"Generator '{generator.name}' has outputs: changing {', '.join(fixed)} would put another model's "
            "answers under its name. Declare a new generator instead.",
            {"field": fixed[0]},
        )
    if not changed:
        return []
    for name in changed:
        setattr(generator, name, fields[name])
    _validated(generator)
    generator.save(update_fields=changed)
    return changed

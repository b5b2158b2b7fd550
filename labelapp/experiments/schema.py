"""The experiment file: TOML declaring `[[generator]]`s, `[[campaign]]`s and the `[[step]]`s to run, read
into plain dataclasses with no database access.

Only the keys below are allowed, each with one type; anything else is refused, naming the file, the table
(`[[campaign]] 2 ('hh')`) and the key. A key left out takes the model's default when the service applies
the file (the file declares the whole generator or campaign); `labellers` left out opens a campaign to
every labeller. A step's `seed` defaults to 0, so applying the file again samples and builds the same
things and finds them there.
"""

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import inference
from inference.model_spec import PROMPT_FORMATS
from labelapp.errors import ApplicationError
from labelapp.importers import FORMATS
from labelapp.kinds import KINDS
from labelapp.kinds.pairwise import Pairing

KeyType = Literal["text", "integer", "number", "boolean", "list of texts", "list of numbers", "table"]
STEP_ACTIONS = ("import", "generate", "build_items", "judge")
STEP_SEED = 0
# The models' choices that inference and the kinds do not list: the models are not read here.
STRATEGIES = ("sample", "self-critique", "best-of-n")  # GenerationStrategy
SELECTIONS = ("uniform", "active")  # CampaignSelection
EXTERNAL_BACKEND = "external"  # GeneratorBackend.EXTERNAL: answers imported from files, never generated
TOP_LEVEL = {"description": "text", "generator": "tables", "campaign": "tables", "step": "tables"}


@dataclass(frozen=True)
class Where:
    """Where a table sits in the file, for messages: `exp.toml: [[campaign]] 2 ('hh')`."""

    file: str
    table: str
    index: int  # 1-based, as a reader counts the tables
    name: str = ""

    def __str__(self) -> str:
        return f"{self.file}: [[{self.table}]] {self.index}" + (f" ({self.name!r})" if self.name else "")

    def error(self, message: str, key: str | None = None) -> ApplicationError:
        at = f", key '{key}'" if key else ""
        return ApplicationError(
            f"{self}{at}: {message}",
            {"file": self.file, "table": self.table, "index": self.index, "name": self.name, "field": key},
        )


@dataclass(frozen=True)
class GeneratorSpec:
    where: Where
    name: str
    model: str
    backend: str | None = None
    gguf_file: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    prompt_format: str | None = None
    raw_template: str | None = None
    params: dict[str, Any] | None = None  # the generator's default sampling params
    concurrency: int | None = None


@dataclass(frozen=True)
class CampaignSpec:
    where: Where
    name: str
    kind: str | None = None
    labels_per_item: int | None = None
    min_labels: int | None = None  # adaptive overlap: labels_per_item is then the most an item gets
    agreement_to_stop: float | None = None
    judge_prelabel: bool | None = None
    title: str | None = None
    instructions: str | None = None
    criteria: list[str] | None = None
    error_categories: list[str] | None = None
    skills: list[str] | None = None
    labellers: list[str] | None = None  # usernames; None: open to every labeller
    gold_rate: float | None = None
    min_gold_accuracy: float | None = None
    min_gold_labels: int | None = None
    show_reference_answer: bool | None = None
    lease_seconds: int | None = None
    priority: int | None = None
    continue_turns: int | None = None  # pairwise: turns a conversation goes on from the preferred reply
    user_simulator: str | None = None  # a generator's name: writes the next user turn when nobody did
    selection: str | None = None  # pairwise: "uniform" or "active" (Campaign.selection)
    review_below: float | None = None  # adjudication: items agreeing less than this go to reviewers


@dataclass(frozen=True)
class ImportStep:
    where: Where
    campaign: str
    file: Path  # resolved against the experiment file's folder
    format: str = "candidates"
    source: str | None = None


@dataclass(frozen=True)
class GenerateStep:
    where: Where
    campaign: str
    generators: list[str]
    n: int | None = None
    temperatures: list[float] | None = None  # a sweep: one job per temperature
    max_new_tokens: int | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: list[str] | None = None
    seed: int = STEP_SEED
    strategy: str = "sample"
    select: str = ""  # best-of-n: logprob, reward-model:PATH or judge:GENERATOR


@dataclass(frozen=True)
class BuildItemsStep:
    where: Where
    campaign: str
    source_campaign: str | None = None
    generators: list[str] | None = None
    pairing: str | None = None
    per_item: int | None = None
    max_per_prompt: int | None = None
    seed: int = STEP_SEED


@dataclass(frozen=True)
class JudgeStep:
    where: Where
    campaign: str
    generator: str
    limit: int | None = None


Step = ImportStep | GenerateStep | BuildItemsStep | JudgeStep


@dataclass(frozen=True)
class Experiment:
    file: str
    description: str
    generators: tuple[GeneratorSpec, ...]
    campaigns: tuple[CampaignSpec, ...]
    steps: tuple[Step, ...]


GENERATOR_KEYS: dict[str, KeyType] = {
    "name": "text",
    "model": "text",
    "backend": "text",
    "gguf_file": "text",
    "base_url": "text",
    "api_key_env": "text",
    "prompt_format": "text",
    "raw_template": "text",
    "params": "table",
    "concurrency": "integer",
}
CAMPAIGN_KEYS: dict[str, KeyType] = {
    "name": "text",
    "kind": "text",
    "labels_per_item": "integer",
    "min_labels": "integer",
    "agreement_to_stop": "number",
    "judge_prelabel": "boolean",
    "title": "text",
    "instructions": "text",
    "criteria": "list of texts",
    "error_categories": "list of texts",
    "skills": "list of texts",
    "labellers": "list of texts",
    "gold_rate": "number",
    "min_gold_accuracy": "number",
    "min_gold_labels": "integer",
    "show_reference_answer": "boolean",
    "lease_seconds": "integer",
    "priority": "integer",
    "continue_turns": "integer",
    "user_simulator": "text",
    "selection": "text",
    "review_below": "number",
}
STEP_KEYS: dict[str, dict[str, KeyType]] = {
    "import": {"campaign": "text", "file": "text", "format": "text", "source": "text"},
    "generate": {
        "campaign": "text",
        "generators": "list of texts",
        "n": "integer",
        "temperatures": "list of numbers",
        "max_new_tokens": "integer",
        "top_p": "number",
        "top_k": "integer",
        "stop": "list of texts",
        "seed": "integer",
        "strategy": "text",
        "select": "text",
    },
    "build_items": {
        "campaign": "text",
        "source_campaign": "text",
        "generators": "list of texts",
        "pairing": "text",
        "per_item": "integer",
        "max_per_prompt": "integer",
        "seed": "integer",
    },
    "judge": {"campaign": "text", "generator": "text", "limit": "integer"},
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "generator": ("name", "model"),
    "campaign": ("name",),
    "import": ("campaign", "file"),
    "generate": ("campaign", "generators"),
    "build_items": ("campaign",),
    "judge": ("campaign", "generator"),
}
CHOICES: dict[str, tuple[str, ...]] = {
    "backend": (*inference.BACKENDS, EXTERNAL_BACKEND),
    "prompt_format": PROMPT_FORMATS,
    "kind": tuple(KINDS),
    "strategy": STRATEGIES,
    "pairing": tuple(p.value for p in Pairing),
    "format": tuple(FORMATS),
    "selection": SELECTIONS,
}


def _is(value: Any, expected: KeyType) -> bool:
    def number(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)

    match expected:
        case "text":
            return isinstance(value, str)
        case "integer":
            return isinstance(value, int) and not isinstance(value, bool)
        case "number":
            return number(value)
        case "boolean":
            return isinstance(value, bool)
        case "list of texts":
            return isinstance(value, list) and all(isinstance(v, str) for v in value)
        case "list of numbers":
            return isinstance(value, list) and all(number(v) for v in value)
        case "table":
            return isinstance(value, dict)


def _toml_type(value: Any) -> str:
    names = {str: "text", bool: "boolean", int: "integer", float: "number", list: "list", dict: "table"}
    return names.get(type(value), type(value).__name__)


def _a(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def _keys_checked(
    raw: dict[str, Any], keys: dict[str, KeyType], required: tuple[str, ...], where: Where
) -> None:
    for key, value in raw.items():
        if key not in keys:
            raise where.error(f"unknown key; allowed: {', '.join(keys)}", key)
        if not _is(value, keys[key]):
            raise where.error(f"must be {_a(keys[key])}, not {_a(_toml_type(value))}", key)
        if key in CHOICES and value not in CHOICES[key]:
            raise where.error(f"{value!r} is not one of {', '.join(CHOICES[key])}", key)
    for key in required:
        if key not in raw:
            raise where.error("is required", key)


def _generator(raw: dict[str, Any], where: Where) -> GeneratorSpec:
    _keys_checked(raw, GENERATOR_KEYS, REQUIRED["generator"], where)
    try:
        inference.SamplingParams.from_dict(raw.get("params", {}))
    except inference.InferenceError as exc:
        raise where.error(str(exc), "params") from None
    return GeneratorSpec(where=where, **raw)


def _campaign(raw: dict[str, Any], where: Where) -> CampaignSpec:
    _keys_checked(raw, CAMPAIGN_KEYS, REQUIRED["campaign"], where)
    return CampaignSpec(where=where, **raw)


def _step(raw: dict[str, Any], where: Where, folder: Path) -> Step:
    action = raw.get("action")
    if action not in STEP_ACTIONS:
        shown = "missing" if action is None else repr(action)
        raise where.error(f"{shown}; a step's action is one of {', '.join(STEP_ACTIONS)}", "action")
    fields = {key: value for key, value in raw.items() if key != "action"}
    _keys_checked(fields, STEP_KEYS[action], REQUIRED[action], where)
    if action == "import":
        return ImportStep(where=where, **(fields | {"file": folder / fields["file"]}))
    if action == "generate":
        if not fields["generators"]:
            raise where.error("must name at least one generator", "generators")
        return GenerateStep(where=where, **fields)
    if action == "build_items":
        return BuildItemsStep(where=where, **fields)
    return JudgeStep(where=where, **fields)


def _tables(document: dict[str, Any], table: str, file: str) -> list[tuple[dict[str, Any], Where]]:
    tables = document.get(table, [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ApplicationError(
            f"{file}: '{table}' must be written as [[{table}]] tables", {"file": file, "field": table}
        )
    return [(raw, Where(file, table, index, str(raw.get("name", "")))) for index, raw in enumerate(tables, 1)]


def _unique_names(specs: tuple[GeneratorSpec, ...] | tuple[CampaignSpec, ...]) -> None:
    seen: dict[str, Where] = {}
    for spec in specs:
        if spec.name in seen:
            raise spec.where.error(f"the name is declared already by {seen[spec.name]}", "name")
        seen[spec.name] = spec.where


def experiment_parse(*, text: str, file: str, folder: Path) -> Experiment:
    """The experiment in `text` (the contents of `file`; step files are relative to `folder`), or
    ApplicationError naming the file, table and key of the first problem."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ApplicationError(f"{file}: not valid TOML ({exc})", {"file": file}) from None
    for key, value in document.items():
        if key not in TOP_LEVEL:
            raise ApplicationError(
                f"{file}: unknown key '{key}'; allowed: {', '.join(TOP_LEVEL)}", {"file": file, "field": key}
            )
        if TOP_LEVEL[key] == "text" and not isinstance(value, str):
            raise ApplicationError(
                f"{file}: key '{key}' must be a text, not {_a(_toml_type(value))}",
                {"file": file, "field": key},
            )
    generators = tuple(_generator(raw, where) for raw, where in _tables(document, "generator", file))
    campaigns = tuple(_campaign(raw, where) for raw, where in _tables(document, "campaign", file))
    _unique_names(generators)
    _unique_names(campaigns)
    steps = tuple(_step(raw, where, folder) for raw, where in _tables(document, "step", file))
    if not (generators or campaigns or steps):
        raise ApplicationError(
            f"{file}: declares nothing; add a [[campaign]], [[generator]] or [[step]]", {"file": file}
        )
    return Experiment(file, document.get("description", ""), generators, campaigns, steps)


def experiment_read(path: Path) -> Experiment:
    """The experiment file at `path`, parsed."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ApplicationError(f"{path}: no such file", {"file": str(path)}) from None
    except UnicodeDecodeError as exc:
        raise ApplicationError(f"{path}: not UTF-8 text (byte {exc.start})", {"file": str(path)}) from None
    return experiment_parse(text=text, file=path.name, folder=path.parent)

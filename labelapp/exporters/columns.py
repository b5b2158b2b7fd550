"""Column types, so every output (JSONL, Parquet, a `datasets` folder) has one fixed shape per format.

Parquet needs a type per column before the first row is written; inferring it from the first rows fails
as soon as a column is empty there (no strength given yet) and filled later. pyarrow is imported only
when a Parquet or `datasets` output is written.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

STRING = "string"
INT = "int"
FLOAT = "float"
BOOL = "bool"
TEXT_OR_MESSAGES = "text_or_messages"  # a string; in chat campaigns a list of {"role", "content"} messages
PARAMS = "params"  # sampling parameters, every name present
INTS = "list<int>"
STRINGS = "list<string>"
PARAMS_LIST = "list<params>"
LABEL_VALUE = "label_value"  # a label's value, shaped by the task kind (LABEL_VALUES)


def struct(**fields: Any) -> tuple[str, dict[str, Any]]:
    return ("struct", fields)


@dataclass(frozen=True)
class Shape:
    """What the types depend on: whether prompts are chat messages, the task kind, the campaign's criteria."""

    conversational: bool
    kind: str
    criteria: tuple[str, ...] = ()


def _pairwise_value(shape: Shape) -> tuple[str, dict[str, Any]]:
    fields: dict[str, Any] = {"choice": STRING, "strength": STRING, "rationale": STRING}
    if shape.criteria:  # a struct needs at least one field
        fields["criteria"] = struct(**dict.fromkeys(shape.criteria, STRING))
    return ("struct", fields)


LABEL_VALUES: dict[str, Callable[[Shape], tuple[str, dict[str, Any]]]] = {"pairwise": _pairwise_value}

PARAM_TYPES = {
    "temperature": FLOAT,
    "top_p": FLOAT,
    "top_k": INT,
    "max_new_tokens": INT,
    "stop": STRINGS,
    "seed": INT,
    "n": INT,
}


def arrow_type(column: Any, shape: Shape) -> Any:
    import pyarrow as pa

    if isinstance(column, tuple):
        return pa.struct([(name, arrow_type(inner, shape)) for name, inner in column[1].items()])
    if column == PARAMS:
        return arrow_type(struct(**PARAM_TYPES), shape)
    if column == LABEL_VALUE:
        return arrow_type(LABEL_VALUES[shape.kind](shape), shape)
    if column == TEXT_OR_MESSAGES:
        if not shape.conversational:
            return pa.string()
        return pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
    simple = {
        STRING: pa.string(),
        INT: pa.int64(),
        FLOAT: pa.float64(),
        BOOL: pa.bool_(),
        INTS: pa.list_(pa.int64()),
        STRINGS: pa.list_(pa.string()),
    }
    if column == PARAMS_LIST:
        return pa.list_(arrow_type(PARAMS, shape))
    return simple[column]


def arrow_schema(columns: Mapping[str, Any], shape: Shape) -> Any:
    import pyarrow as pa

    return pa.schema([(name, arrow_type(column, shape)) for name, column in columns.items()])


def column_description(column: Any, shape: Shape) -> str:
    """The type as the dataset card shows it."""
    if isinstance(column, tuple):
        return "{" + ", ".join(f"{k}: {column_description(v, shape)}" for k, v in column[1].items()) + "}"
    if column == LABEL_VALUE:
        return column_description(LABEL_VALUES[shape.kind](shape), shape)
    if column == TEXT_OR_MESSAGES:
        return "list of {role, content} messages" if shape.conversational else "string"
    return column

"""Grouping requests into generate() calls that fit a token budget."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Batch:
    request_indices: tuple[int, ...]
    rows_per_request: int  # sequences generated per request in this batch (num_return_sequences)
    first_row: int  # offset of this batch's rows among the request's rows; > 0 only when a request is split
    requests_done: int  # requests fully generated once this batch has run


def _split_one_request(index: int, *, rows: int, tokens_per_row: int, batch_tokens: int) -> list[Batch]:
    rows_per_batch = max(1, batch_tokens // tokens_per_row)
    batches = []
    for first_row in range(0, rows, rows_per_batch):
        chunk = min(rows_per_batch, rows - first_row)
        is_last = first_row + chunk == rows
        batches.append(Batch((index,), chunk, first_row, index + 1 if is_last else index))
    return batches


def plan_batches(
    *, prompt_token_counts: Sequence[int], rows_per_request: int, max_new_tokens: int, batch_tokens: int
) -> list[Batch]:
    """Consecutive requests packed so that rows * (longest prompt + max_new_tokens) <= batch_tokens.

    A request whose rows alone exceed the budget has its rows split over several batches (at least one row
    each), so the budget is only exceeded by a single row that is over it on its own.
    """
    batches: list[Batch] = []
    pending: list[int] = []
    pending_longest = 0

    def flush() -> None:
        if pending:
            batches.append(Batch(tuple(pending), rows_per_request, 0, pending[-1] + 1))
            pending.clear()

    for index, prompt_tokens in enumerate(prompt_token_counts):
        tokens_per_row = prompt_tokens + max_new_tokens
        if rows_per_request * tokens_per_row > batch_tokens:
            flush()
            batches.extend(
                _split_one_request(
                    index, rows=rows_per_request, tokens_per_row=tokens_per_row, batch_tokens=batch_tokens
                )
            )
            continue
        longest = max(pending_longest, prompt_tokens) if pending else prompt_tokens
        if pending and (len(pending) + 1) * rows_per_request * (longest + max_new_tokens) > batch_tokens:
            flush()
            longest = prompt_tokens
        pending.append(index)
        pending_longest = longest
    flush()
    return batches

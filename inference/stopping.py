"""Where a generated sequence ends: at eos, at a stop sequence, or at the token limit."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

FINISH_EOS = "eos"
FINISH_LENGTH = "length"
FINISH_STOP = "stop"


@dataclass(frozen=True)
class TrimmedGeneration:
    text: str
    token_count: int
    finish_reason: str


def find_stop(text: str, stop: Sequence[str]) -> int | None:
    """Index of the earliest stop sequence in `text`, or None."""
    positions = [position for position in (text.find(s) for s in stop) if position >= 0]
    return min(positions) if positions else None


def trim_generation(
    token_ids: Sequence[int],
    *,
    eos_token_ids: Collection[int],
    stop: Sequence[str],
    decode: Callable[[Sequence[int]], str],
) -> TrimmedGeneration:
    """Text, counted tokens and finish reason of one generated row (prompt excluded, padding included).

    `decode` must turn token ids into text with special tokens stripped.
    """
    eos_at = next((i for i, token in enumerate(token_ids) if token in eos_token_ids), None)
    body = token_ids if eos_at is None else token_ids[:eos_at]
    text = decode(body)
    full_cut = find_stop(text, stop) if stop else None
    if full_cut is not None:
        # Decode growing prefixes: the first prefix containing a stop sequence ends at the token that
        # completed it, which is counted (like eos is); the text is cut where the stop sequence starts.
        # This is the same test the stopping criterion applies during generation.
        for count in range(1, len(body) + 1):
            prefix = decode(body[:count])
            cut = find_stop(prefix, stop)
            if cut is not None:
                return TrimmedGeneration(prefix[:cut], count, FINISH_STOP)
        return TrimmedGeneration(text[:full_cut], len(body), FINISH_STOP)  # only if prefixes decode oddly
    if eos_at is not None:
        return TrimmedGeneration(text, eos_at + 1, FINISH_EOS)
    return TrimmedGeneration(text, len(body), FINISH_LENGTH)

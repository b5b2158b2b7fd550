from collections.abc import Sequence

from inference.batching import Batch, plan_batches
from inference.stopping import trim_generation

EOS = 0


def decode_letters(ids: Sequence[int]) -> str:
    """Token i (i >= 1) is the i-th lowercase letter; EOS is special and decodes to nothing."""
    return "".join(chr(ord("a") + i - 1) for i in ids if i != EOS)


def test_plan_batches_packs_consecutive_requests_within_budget() -> None:
    batches = plan_batches(
        prompt_token_counts=[10, 10, 30, 10], rows_per_request=2, max_new_tokens=10, batch_tokens=80
    )
    # 2 rows * (10 + 10) = 40 per short request; the 30-token prompt needs 2 * 40 = 80 alone.
    assert batches == [
        Batch((0, 1), 2, 0, 2),
        Batch((2,), 2, 0, 3),
        Batch((3,), 2, 0, 4),
    ]


def test_plan_batches_splits_rows_of_a_request_over_the_budget() -> None:
    batches = plan_batches(
        prompt_token_counts=[10, 10], rows_per_request=5, max_new_tokens=10, batch_tokens=40
    )
    assert batches == [
        Batch((0,), 2, 0, 0),
        Batch((0,), 2, 2, 0),
        Batch((0,), 1, 4, 1),
        Batch((1,), 2, 0, 1),
        Batch((1,), 2, 2, 1),
        Batch((1,), 1, 4, 2),
    ]


def test_plan_batches_starts_fresh_after_a_split_request() -> None:
    batches = plan_batches(
        prompt_token_counts=[30, 100, 10, 10], rows_per_request=1, max_new_tokens=10, batch_tokens=40
    )
    assert batches == [Batch((0,), 1, 0, 1), Batch((1,), 1, 0, 2), Batch((2, 3), 1, 0, 4)]


def test_plan_batches_keeps_at_least_one_row_per_batch() -> None:
    batches = plan_batches(prompt_token_counts=[100], rows_per_request=1, max_new_tokens=10, batch_tokens=1)
    assert batches == [Batch((0,), 1, 0, 1)]


def test_trim_generation_counts_eos_and_drops_padding() -> None:
    trimmed = trim_generation([1, 2, 3, EOS, EOS], eos_token_ids={EOS}, stop=(), decode=decode_letters)
    assert (trimmed.text, trimmed.token_count, trimmed.finish_reason) == ("abc", 4, "eos")


def test_trim_generation_reports_length_without_eos() -> None:
    trimmed = trim_generation([1, 2, 3], eos_token_ids={EOS}, stop=("z",), decode=decode_letters)
    assert (trimmed.text, trimmed.token_count, trimmed.finish_reason) == ("abc", 3, "length")


def test_trim_generation_cuts_at_earliest_stop_and_counts_through_completing_token() -> None:
    trimmed = trim_generation(
        [1, 2, 3, 4, 5, EOS], eos_token_ids={EOS}, stop=("de", "cd"), decode=decode_letters
    )
    assert (trimmed.text, trimmed.token_count, trimmed.finish_reason) == ("ab", 4, "stop")


def test_trim_generation_ignores_stops_after_eos() -> None:
    trimmed = trim_generation([1, EOS, 2], eos_token_ids={EOS}, stop=("b",), decode=decode_letters)
    assert (trimmed.text, trimmed.token_count, trimmed.finish_reason) == ("a", 2, "eos")

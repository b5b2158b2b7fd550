"""Train / test splits by prompt: every row of a prompt (by content) falls in the same split.

A prompt is in the test split when a hash of (seed, prompt content) falls below the test fraction. The
same seed and data give the same split; the share of test prompts is the fraction on average, not
exactly; and a prompt keeps its split when the campaign grows, so a later export's test set never
leaks into an earlier export's training set.
"""

import hashlib
from functools import lru_cache

TRAIN, TEST = "train", "test"


def split_names(test_fraction: float) -> tuple[str, ...]:
    return (TRAIN, TEST) if test_fraction > 0 else (TRAIN,)


@lru_cache(maxsize=4096)  # rows of one prompt mostly come together
def split_of(group: str, seed: int, test_fraction: float) -> str:
    if test_fraction <= 0:
        return TRAIN
    digest = hashlib.sha256(f"{seed}:{group}".encode()).digest()
    return TEST if int.from_bytes(digest[:8], "big") / 2**64 < test_fraction else TRAIN

"""A transformers stopping criterion for stop sequences in the generated text.

Imports torch and transformers at module level: import it lazily, from inside functions only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import torch
from transformers import PreTrainedTokenizerBase, StoppingCriteria

from inference.stopping import find_stop


class GeneratedTextStopCriteria(StoppingCriteria):
    """Finishes a row once its generated text (prompt excluded) contains a stop sequence.

    generate(stop_strings=...) is not used because it also matches stop strings that start inside the
    prompt, ending a row whose generated text does not contain the stop sequence at all.
    """

    def __init__(self, *, tokenizer: PreTrainedTokenizerBase, stop: Sequence[str], prompt_width: int) -> None:
        self.tokenizer = tokenizer
        self.stop = tuple(stop)
        self.prompt_width = prompt_width

    def __call__(
        self, input_ids: torch.LongTensor, scores: torch.FloatTensor | None, **kwargs
    ) -> torch.BoolTensor:
        texts = self.tokenizer.batch_decode(
            input_ids[:, self.prompt_width :].tolist(), skip_special_tokens=True
        )
        done = [find_stop(text, self.stop) is not None for text in texts]
        return cast(torch.BoolTensor, torch.tensor(done, dtype=torch.bool, device=input_ids.device))

"""Self-critique and revise: the model answers, lists the errors in its answer, then answers again.

Each step is a chat conversation that carries the earlier steps, so any chat model can play it.
"""

from inference.params import GenerationRequest
from inference.prompts import chat_messages

CRITIQUE_INSTRUCTION = (
    "Review your answer above. List every factual, logical or instruction-following error in it, one per line. "
    "If it has no errors, reply 'No errors.'"
)
REVISION_INSTRUCTION = "Now write an improved answer to the original request that fixes those errors. Reply with the answer only."


def _critique_turns(request: GenerationRequest, answer: str) -> list[dict[str, str]]:
    return [
        *chat_messages(request),
        {"role": "assistant", "content": answer},
        {"role": "user", "content": CRITIQUE_INSTRUCTION},
    ]


def critique_request(request: GenerationRequest, answer: str) -> GenerationRequest:
    return GenerationRequest(messages=tuple(_critique_turns(request, answer)))


def revision_request(request: GenerationRequest, answer: str, critique: str) -> GenerationRequest:
    turns = [
        *_critique_turns(request, answer),
        {"role": "assistant", "content": critique},
        {"role": "user", "content": REVISION_INSTRUCTION},
    ]
    return GenerationRequest(messages=tuple(turns))

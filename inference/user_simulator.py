"""A user simulator: a chat model asked to write the user's next message in a conversation with an assistant.

The model does not play the user inside the conversation (a chat model answers as the assistant whatever the
roles say); it reads the conversation as a transcript in one user message and writes the next user turn.
"""

from collections.abc import Sequence

from inference.params import GenerationRequest

USER_SIMULATOR_INSTRUCTION = (
    "Below is a conversation between a user and an AI assistant. Write the user's next message: a natural "
    "follow-up to the assistant's last reply, such as a question about it, a request for more detail, a "
    "correction or a related new request. Reply with the message only, without a name, label or quotes."
)


def user_simulator_request(messages: Sequence[dict[str, str]]) -> GenerationRequest:
    """The request that asks for the user's next message after `messages` (system turns left out)."""
    transcript = "\n\n".join(
        f"{m['role'].capitalize()}: {m['content']}" for m in messages if m["role"] != "system"
    )
    return GenerationRequest(
        messages=(
            {"role": "system", "content": USER_SIMULATOR_INSTRUCTION},
            {"role": "user", "content": f"{transcript}\n\nUser:"},
        )
    )


def user_message_from(text: str) -> str:
    """The simulator's answer as a user message: surrounding space, quotes and a "User:" prefix taken off."""
    message = text.strip()
    if message.lower().startswith("user:"):
        message = message[len("user:") :].strip()
    if len(message) >= 2 and message[0] == message[-1] and message[0] in "\"'":
        message = message[1:-1].strip()
    return message

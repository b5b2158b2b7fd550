import pytest

from inference.user_simulator import USER_SIMULATOR_INSTRUCTION, user_message_from, user_simulator_request


def test_the_simulator_reads_the_conversation_as_a_transcript_and_writes_the_users_turn():
    request = user_simulator_request(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Capital of France?"},
            {"role": "assistant", "content": "Paris."},
        ]
    )
    assert request.messages == (
        {"role": "system", "content": USER_SIMULATOR_INSTRUCTION},
        {"role": "user", "content": "User: Capital of France?\n\nAssistant: Paris.\n\nUser:"},
    )


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("  And Germany?\n", "And Germany?"),
        ("User: And Germany?", "And Germany?"),
        ('"And Germany?"', "And Germany?"),
        ("user: 'And Germany?'", "And Germany?"),
        ("   ", ""),
    ],
)
def test_the_simulators_answer_becomes_the_bare_message(written, message):
    assert user_message_from(written) == message

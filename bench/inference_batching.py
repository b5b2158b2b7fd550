"""Batched against one-at-a-time generation with the embedded model on CPU, in one process.

Usage: python bench/inference_batching.py [--prompts 16] [--n 4] [--max-new-tokens 64] [--record]

Batched: one generate() call for all prompts x n samples (one batch under the default token budget).
One at a time: prompts x n generate() calls, each one prompt and n=1. Both sample at temperature 0.7 after the
model is loaded and warmed up. Prints the generated tokens (eos and stop sequences end a row early, so the two
runs differ a little), the tokens/s of each, and the ratio; --record appends a row to BENCHMARKS.md.
"""

import argparse
import os
import sys
import time
from pathlib import Path

from benchmarks_file import benchmark_record

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PROMPTS = [
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "Explain photosynthesis to a ten-year-old.",
    "Give three tips for learning a new language.",
    "What is 17 times 23?",
    "Name a famous painting and describe it.",
    "Why is the sky blue?",
    "Suggest a name for a friendly robot.",
    "Summarise the plot of Romeo and Juliet in two sentences.",
    "What are the primary colours?",
    "Write a short thank-you note to a teacher.",
    "How do bees make honey?",
    "List four animals that live in the Arctic.",
    "What does a compiler do?",
    "Describe a sunset in one sentence.",
    "What is the boiling point of water at sea level?",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from inference import EMBEDDED_MODEL, GenerationRequest, SamplingParams, generate, preload

    prompts = [PROMPTS[index % len(PROMPTS)] for index in range(args.prompts)]
    requests = [GenerationRequest(prompt=prompt) for prompt in prompts]
    params = SamplingParams(temperature=0.7, max_new_tokens=args.max_new_tokens, n=args.n, seed=1)

    preload(EMBEDDED_MODEL)
    generate(spec=EMBEDDED_MODEL, requests=requests[:1], params=SamplingParams(max_new_tokens=4, seed=0))

    started = time.perf_counter()
    batched = generate(spec=EMBEDDED_MODEL, requests=requests, params=params)
    batched_s = time.perf_counter() - started
    batched_tokens = sum(c.token_count for c in batched)
    print(f"batched: {len(batched)} samples, {batched_tokens} tokens in {batched_s:.1f} s", flush=True)

    single = SamplingParams(temperature=0.7, max_new_tokens=args.max_new_tokens, n=1)
    started = time.perf_counter()
    one_at_a_time = [
        completion
        for index, request in enumerate(requests)
        for sample in range(args.n)
        for completion in generate(
            spec=EMBEDDED_MODEL,
            requests=[request],
            params=SamplingParams(**{**single.to_dict(), "seed": 1 + index * args.n + sample}),
        )
    ]
    single_s = time.perf_counter() - started
    single_tokens = sum(c.token_count for c in one_at_a_time)
    print(
        f"one at a time: {len(one_at_a_time)} samples, {single_tokens} tokens in {single_s:.1f} s", flush=True
    )

    batched_rate, single_rate = batched_tokens / batched_s, single_tokens / single_s
    line = (
        f"embedded model, {args.prompts} prompts x n={args.n} x max {args.max_new_tokens} new tokens, T=0.7: "
        f"batched (1 generate call) {batched_tokens} tokens in {batched_s:.1f} s = {batched_rate:.1f} tokens/s; "
        f"one at a time ({len(one_at_a_time)} calls of n=1) {single_tokens} tokens in {single_s:.1f} s = "
        f"{single_rate:.1f} tokens/s; batched/one-at-a-time = {batched_rate / single_rate:.2f}x"
    )
    print(line)
    if args.record:
        benchmark_record("python bench/inference_batching.py", line)


if __name__ == "__main__":
    main()

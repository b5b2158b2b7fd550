"""Tokens/s of a generation job through llama.cpp's llama-server, against a plain client sending the same requests.

Usage: python bench/generation_remote.py [--prompts 32] [--n 4] [--max-new-tokens 48] [--parallel 8]
           [--threads 1] [--concurrency 1 4 8] [--rounds 2] [--record]

Starts llama-server (`make engines`) with the embedded SmolLM2-135M GGUF and `--parallel` slots on 127.0.0.1.
For each concurrency, the app runs a generation job (generation_job_run, as a worker does: openai-chat
backend, candidates written to a scratch SQLite database) and a plain client (a thread pool of bare HTTP
requests, no database) sends the same requests: the same prompts, bodies and seeds, so the same tokens come
back. Each prints generated tokens / wall seconds; the app's figure includes its database writes. Rounds
alternate plain and app; the median of the rounds is reported. --record appends a row to BENCHMARKS.md.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
from benchmarks_file import benchmark_record

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SEED = 1
TEMPERATURE = 0.8
TOP_P = 0.95


def prompt_texts(count: int) -> list[str]:
    """`count` distinct prompts: the demo prompts, then variants of them."""
    rows = [json.loads(line) for line in (REPO / "labelapp/demo/prompts.jsonl").read_text().splitlines()]
    demo = [row["prompt"] if "prompt" in row else row["messages"][-1]["content"] for row in rows]
    return [
        demo[index % len(demo)] + ("" if index < len(demo) else f" (take {index // len(demo) + 1})")
        for index in range(count)
    ]


def request_body(text: str, *, index: int, n: int, max_new_tokens: int) -> dict:
    """What the app's openai-chat backend sends for request `index` of a job seeded SEED."""
    return {
        "model": "smollm2",
        "messages": [{"role": "user", "content": text}],
        "n": n,
        "temperature": TEMPERATURE,
        "top_p": TOP_P,
        "max_tokens": max_new_tokens,
        "stop": [],
        "seed": SEED + index * n,
        "logprobs": True,
        "top_logprobs": 1,
    }


def plain_client(url: str, bodies: list[dict], concurrency: int) -> tuple[int, float]:
    """(tokens, seconds) for bare POSTs of `bodies`, `concurrency` at a time; tokens are logprob entries."""
    with httpx2.Client(timeout=600, limits=httpx2.Limits(max_connections=concurrency)) as client:

        def send(body: dict) -> int:
            response = client.post(f"{url}/v1/chat/completions", json=body)
            response.raise_for_status()
            return sum(
                len((c.get("logprobs") or {}).get("content") or []) for c in response.json()["choices"]
            )

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            tokens = sum(pool.map(send, bodies))
        return tokens, time.perf_counter() - started


def app_job(
    url: str, texts: list[str], *, run: int, concurrency: int, n: int, max_new_tokens: int
) -> tuple[int, float]:
    """(tokens, seconds) of generation_job_run for a fresh campaign of `texts`."""
    import inference
    from labelapp.models import Campaign, Generator, JobStatus, Prompt
    from labelapp.services.generation import generation_job_run, generation_jobs_create

    campaign = Campaign.objects.create(name=f"bench-{run}")
    Prompt.objects.bulk_create(Prompt(campaign=campaign, text=text) for text in texts)
    generator, _ = Generator.objects.update_or_create(
        name=f"llama-server-c{concurrency}",
        defaults={
            "backend": "openai-chat",
            "model": "smollm2",
            "base_url": f"{url}/v1",
            "concurrency": concurrency,
        },
    )
    params = inference.SamplingParams(
        temperature=TEMPERATURE, top_p=TOP_P, max_new_tokens=max_new_tokens, n=n, seed=SEED
    )
    (job,) = generation_jobs_create(campaign=campaign, generator=generator, params_list=[params])
    started = time.perf_counter()
    job = generation_job_run(job_id=job.pk)
    seconds = time.perf_counter() - started
    if job.status != JobStatus.SUCCEEDED:
        raise SystemExit(f"the app's job {job.outcome}: {job.error or job.prompt_failures}")
    return job.tokens_generated, seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--rounds", type=int, default=2)
    # One thread: llama.cpp's threads spin on barriers, so on 2 cores shared with this script and the database,
    # two threads ran 10x slower than one (5 against 50 tokens/s for one sequence).
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()

    os.environ["LABELAPP_VAR_DIR"] = tempfile.mkdtemp(prefix="labelapp-bench-")
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from inference.model_spec import EMBEDDED_GGUF_FILE, embedded_model_folder
    from tests.inference.servers import llama_server, llama_server_binary

    binary = llama_server_binary()
    if binary is None:
        raise SystemExit("llama-server is not installed: run `make engines` first.")
    call_command("migrate", verbosity=0)
    texts = prompt_texts(args.prompts)
    bodies = [
        request_body(t, index=i, n=args.n, max_new_tokens=args.max_new_tokens) for i, t in enumerate(texts)
    ]
    model = Path(embedded_model_folder()) / EMBEDDED_GGUF_FILE
    log = Path(os.environ["LABELAPP_VAR_DIR"]) / "llama-server.log"
    context = args.parallel * 512
    results = []
    with llama_server(
        binary, model, log, "--parallel", str(args.parallel), "--ctx-size", str(context)
    ) as url:
        plain_client(url, bodies[:2], 2)  # warm up
        for concurrency in args.concurrency:
            plain, app = [], []
            for round_number in range(args.rounds):
                tokens, seconds = plain_client(url, bodies, concurrency)
                plain.append((tokens / seconds, tokens))
                run = len(results) * args.rounds + round_number
                tokens, seconds = app_job(
                    url, texts, run=run, concurrency=concurrency, n=args.n, max_new_tokens=args.max_new_tokens
                )
                app.append((tokens / seconds, tokens))
                print(
                    f"concurrency {concurrency}, round {round_number + 1}: plain {plain[-1][0]:.1f} tokens/s "
                    f"({plain[-1][1]} tokens), app {app[-1][0]:.1f} tokens/s ({app[-1][1]} tokens)",
                    flush=True,
                )
            plain_rate = statistics.median(rate for rate, _ in plain)
            app_rate = statistics.median(rate for rate, _ in app)
            results.append(
                f"{concurrency}: app {app_rate:.0f}, plain {plain_rate:.0f} ({app_rate / plain_rate:.0%})"
            )
    line = (
        f"llama-server --parallel {args.parallel} --threads {args.threads}, SmolLM2-135M Q4_1, "
        f"{args.prompts} prompts x n={args.n} x "
        f"max {args.max_new_tokens} tokens, tokens/s by concurrency (median of {args.rounds}): "
        + "; ".join(results)
    )
    print(line)
    if args.record:
        benchmark_record("python bench/generation_remote.py", line)


if __name__ == "__main__":
    main()

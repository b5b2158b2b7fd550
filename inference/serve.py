"""Serve the local transformers backend over text-generation-inference's HTTP protocol.

    python -m inference.serve --model PATH_OR_embedded [--gguf-file F] [--host 127.0.0.1] [--port 8080]
                              [--batch-tokens N] [--max-best-of 16]

Routes, with TGI's JSON shapes, so TGI clients (huggingface_hub.InferenceClient, this package's "tgi" backend)
work against it:

- POST /generate  {"inputs": str, "parameters": {...}} -> {"generated_text", "details": {"finish_reason",
  "generated_tokens", "seed", "prefill": [], "tokens": [{"id", "text", "logprob", "special"}],
  "best_of_sequences": [...] (when best_of > 1)}}; POST / answers the same wrapped in a list, as TGI does.
- GET /info  model_id, max_best_of, max_input_tokens, max_total_tokens, version, ...
- GET /health  200 once the model is loaded, 503 before.
- Invalid requests: 422 {"error": "Input validation error: ...", "error_type": "validation"}.

A request's best_of rows are sampled as one batch by the same code as generate() (`--batch-tokens` bounds
it). Unlike TGI, a seed is accepted with best_of > 1: it seeds that batch and every sequence reports it, so the
same request gives the same sequences. Requests are served one at a time (no batching across requests); there
is no streaming, and parameters this server cannot honour (typical_p, repetition_penalty, watermark, grammar,
top_n_tokens, decoder_input_details, ...) are refused with 422 rather than ignored.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from inference.errors import InferenceError
from inference.generation import GeneratedRow, generate_rows
from inference.model_spec import ModelSpec, resolve_model_location
from inference.params import MAX_SEED, SamplingParams
from inference.transformers_backend import LoadedModel, count_prompt_tokens, load_model

VERSION = "inference.serve 1 (TGI protocol)"
DEFAULT_MAX_NEW_TOKENS = 100  # TGI's default when a request leaves max_new_tokens out
MAX_STOP_SEQUENCES = 4
TGI_FINISH_REASONS = {"eos": "eos_token", "length": "length", "stop": "stop_sequence"}
FALLBACK_MAX_TOTAL_TOKENS = 4096
# Parameters a TGI server knows that this one cannot honour, with the value that means "not used".
UNSUPPORTED_PARAMETERS = {
    "typical_p": None,
    "repetition_penalty": None,
    "frequency_penalty": None,
    "watermark": False,
    "truncate": None,
    "grammar": None,
    "top_n_tokens": None,
    "decoder_input_details": False,
    "adapter_id": None,
}
NEUTRAL_VALUES = {"repetition_penalty": 1.0, "frequency_penalty": 0.0, "top_n_tokens": 0}


class ValidationFailure(Exception):
    """Answered with 422 and TGI's validation error shape."""


@dataclass(frozen=True)
class Limits:
    max_best_of: int
    max_total_tokens: int

    @property
    def max_input_tokens(self) -> int:
        return self.max_total_tokens - 1


@dataclass(frozen=True)
class GenerateCall:
    inputs: str
    params: SamplingParams
    best_of: int
    details: bool
    return_full_text: bool


def _invalid(message: str) -> ValidationFailure:
    return ValidationFailure(f"Input validation error: {message}")


def _number(parameters: dict[str, Any], name: str) -> float | None:
    return _parameter(parameters, name, integer=False)


def _integer(parameters: dict[str, Any], name: str) -> int | None:
    return _parameter(parameters, name, integer=True)


def _parameter(parameters: dict[str, Any], name: str, *, integer: bool) -> Any:
    value = parameters.get(name)
    if value is None:
        return None
    kinds = int if integer else int | float
    if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value):
        raise ValidationFailure(
            f"Failed to deserialize the JSON body into the target type: parameters.{name}: invalid type: "
            f"expected {'an integer' if integer else 'a number'}, got {json.dumps(value)}"
        )
    return value


def parse_generate_request(body: object, limits: Limits) -> GenerateCall:
    """The request's inputs and sampling parameters, validated as TGI validates them (same messages)."""
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), str):
        raise ValidationFailure(
            "Failed to deserialize the JSON body into the target type: missing field `inputs`"
        )
    if body.get("stream"):
        raise _invalid("streaming is not supported by this server")
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise ValidationFailure(
            "Failed to deserialize the JSON body into the target type: parameters: expected a map"
        )
    for name, unused in UNSUPPORTED_PARAMETERS.items():
        value = parameters.get(name)
        if value is not None and value != unused and value != NEUTRAL_VALUES.get(name, unused):
            raise _invalid(f"`{name}` is not supported by this server")

    best_of = _integer(parameters, "best_of") or 1
    temperature = _number(parameters, "temperature")
    top_p = _number(parameters, "top_p")
    top_k = _integer(parameters, "top_k")
    max_new_tokens = _integer(parameters, "max_new_tokens")
    seed = _integer(parameters, "seed")
    do_sample = bool(parameters.get("do_sample"))
    sampling = do_sample or temperature is not None or top_k is not None or top_p is not None

    if not 0 < best_of <= limits.max_best_of:
        raise _invalid(f"`best_of` must be > 0 and <= {limits.max_best_of}. Given: {best_of}")
    if best_of > 1 and not sampling:
        raise _invalid("you must use sampling when `best_of` is > 1")
    if temperature is not None and temperature <= 0:
        raise _invalid("`temperature` must be strictly positive")
    if top_p is not None and not 0 < top_p < 1:
        raise _invalid("`top_p` must be > 0.0 and < 1.0")
    if top_k is not None and top_k <= 0:
        raise _invalid("`top_k` must be strictly positive")
    if max_new_tokens is not None and max_new_tokens <= 0:
        raise _invalid("`max_new_tokens` must be strictly positive")
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise _invalid(f"`seed` must be between 0 and {MAX_SEED}")
    stop = parameters.get("stop") or []
    if not isinstance(stop, list) or not all(isinstance(item, str) and item for item in stop):
        raise _invalid("`stop` must be a list of non-empty strings")
    if len(stop) > MAX_STOP_SEQUENCES:
        raise _invalid(f"`stop` supports up to {MAX_STOP_SEQUENCES} stop sequences. Given: {len(stop)}")
    if not body["inputs"]:
        raise _invalid("`inputs` cannot be empty")

    params = SamplingParams(
        temperature=(1.0 if temperature is None else temperature) if sampling else 0,
        top_p=1.0 if top_p is None else top_p,
        top_k=top_k,
        max_new_tokens=DEFAULT_MAX_NEW_TOKENS if max_new_tokens is None else max_new_tokens,
        stop=tuple(stop),
        seed=seed,
        n=best_of,
    )
    return GenerateCall(
        inputs=body["inputs"],
        params=params,
        best_of=best_of,
        details=bool(parameters.get("details")),
        return_full_text=bool(parameters.get("return_full_text")),
    )


class ModelServer:
    """The loaded model, its limits, and the TGI answers built from generate_rows()."""

    def __init__(self, spec: ModelSpec, *, max_best_of: int) -> None:
        self.spec = spec
        self.max_best_of = max_best_of
        self.loaded: LoadedModel | None = None
        self.limits = Limits(max_best_of=max_best_of, max_total_tokens=FALLBACK_MAX_TOTAL_TOKENS)
        self._special_ids: frozenset[int] = frozenset()
        # One request at a time: generation is serialised anyway, and a fast tokenizer must not be used from
        # two threads at once (padding settings live in shared Rust state: "Already borrowed").
        self._lock = threading.Lock()

    def load(self) -> None:
        loaded = load_model(resolve_model_location(self.spec))
        positions = getattr(loaded.model.config, "max_position_embeddings", None)
        max_total = positions if isinstance(positions, int) and positions > 1 else FALLBACK_MAX_TOTAL_TOKENS
        self.limits = Limits(max_best_of=self.max_best_of, max_total_tokens=max_total)
        self._special_ids = frozenset(loaded.tokenizer.all_special_ids)
        self.loaded = loaded

    def info(self) -> dict[str, Any]:
        model = self.loaded.model if self.loaded else None
        return {
            "model_id": self.spec.model,
            "model_sha": None,
            "model_dtype": str(model.dtype) if model is not None else None,
            "model_device_type": model.device.type if model is not None else None,
            "model_pipeline_tag": "text-generation",
            "max_concurrent_requests": 128,
            "max_best_of": self.limits.max_best_of,
            "max_stop_sequences": MAX_STOP_SEQUENCES,
            "max_input_tokens": self.limits.max_input_tokens,
            "max_input_length": self.limits.max_input_tokens,  # the name before TGI 2.1
            "max_total_tokens": self.limits.max_total_tokens,
            "max_batch_total_tokens": self.spec.batch_tokens,
            "validation_workers": 1,
            "max_client_batch_size": 1,
            "router": "inference.serve",
            "version": VERSION,
            "sha": None,
            "docker_label": None,
        }

    def _ready(self) -> LoadedModel:
        assert self.loaded is not None, "load() runs before the server answers"
        return self.loaded

    def _sequence(self, row: GeneratedRow, prefix: str) -> dict[str, Any]:
        tokenizer = self._ready().tokenizer
        return {
            "generated_text": prefix + row.full_text,
            "finish_reason": TGI_FINISH_REASONS[row.finish_reason],
            "generated_tokens": len(row.token_ids),
            "seed": row.seed,
            "prefill": [],
            "tokens": [
                {
                    "id": token_id,
                    "text": tokenizer.decode([token_id], skip_special_tokens=False),
                    "logprob": logprob,
                    "special": token_id in self._special_ids,
                }
                for token_id, logprob in zip(row.token_ids, row.token_logprobs, strict=True)
            ],
        }

    def generate(self, call: GenerateCall) -> dict[str, Any]:
        with self._lock:
            return self._generate(call)

    def _generate(self, call: GenerateCall) -> dict[str, Any]:
        loaded = self._ready()
        # TGI tokenizes inputs with the tokenizer's special tokens (BOS etc.) added.
        (input_tokens,) = count_prompt_tokens(loaded.tokenizer, [call.inputs], add_special_tokens=True)
        if input_tokens > self.limits.max_input_tokens:
            raise _invalid(
                f"`inputs` must have less than {self.limits.max_input_tokens} tokens. Given: {input_tokens}"
            )
        if input_tokens + call.params.max_new_tokens > self.limits.max_total_tokens:
            raise _invalid(
                f"`inputs` tokens + `max_new_tokens` must be <= {self.limits.max_total_tokens}. "
                f"Given: {input_tokens} `inputs` tokens and {call.params.max_new_tokens} `max_new_tokens`"
            )
        rows = generate_rows(
            loaded,
            prompts=[call.inputs],
            add_special_tokens=True,
            params=call.params,
            batch_tokens=self.spec.batch_tokens,
        )
        prefix = call.inputs if call.return_full_text else ""
        # As TGI: the sequence with the best mean token logprob is the answer, the others are best_of_sequences.
        best = max(range(len(rows)), key=lambda index: rows[index].logprob_mean)
        answer: dict[str, Any] = {"generated_text": prefix + rows[best].full_text}
        if call.details:
            details = self._sequence(rows[best], prefix)
            del details["generated_text"]
            if call.best_of > 1:
                details["best_of_sequences"] = [
                    self._sequence(row, prefix) for index, row in enumerate(rows) if index != best
                ]
            answer["details"] = details
        return answer


class TGIRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "inference.serve"
    model_server: ModelServer  # set on the subclass made by make_server()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        # The request line only (never headers, which may carry an API key), to stderr like the base class.
        sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    def _send_json(self, status: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_error(self, status: int, message: str, error_type: str) -> None:
        self._send_json(status, {"error": message, "error_type": error_type})

    def _path(self) -> str:
        return self.path.split("?", 1)[0].rstrip("/") or "/"

    def do_GET(self) -> None:
        path = self._path()
        if path == "/health":
            if self.model_server.loaded is None:
                self._send_error(HTTPStatus.SERVICE_UNAVAILABLE, "Model is loading", "overloaded")
            else:
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Length", "0")
                self.end_headers()
        elif path == "/info":
            self._send_json(HTTPStatus.OK, self.model_server.info())
        else:
            self._send_error(HTTPStatus.NOT_FOUND, f"no route {path}", "not_found")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        path = self._path()
        if path not in ("/", "/generate"):
            self._send_error(HTTPStatus.NOT_FOUND, f"no route {path}", "not_found")
            return
        if self.model_server.loaded is None:
            self._send_error(HTTPStatus.SERVICE_UNAVAILABLE, "Model is loading", "overloaded")
            return
        try:
            try:
                body = json.loads(raw or b"null")
            except ValueError as exc:
                raise ValidationFailure(f"Failed to parse the request body as JSON: {exc}") from exc
            answer = self.model_server.generate(parse_generate_request(body, self.model_server.limits))
        except (ValidationFailure, InferenceError) as exc:
            message = str(exc) if isinstance(exc, ValidationFailure) else f"Input validation error: {exc}"
            self._send_error(HTTPStatus.UNPROCESSABLE_ENTITY, message, "validation")
            return
        except Exception as exc:  # a failed generation must answer, not drop the connection
            self._send_error(
                HTTPStatus.FAILED_DEPENDENCY, f"Request failed during generation: {exc}", "generation"
            )
            return
        self._send_json(HTTPStatus.OK, [answer] if path == "/" else answer)


def make_server(model_server: ModelServer, host: str, port: int) -> ThreadingHTTPServer:
    handler = type("BoundTGIRequestHandler", (TGIRequestHandler,), {"model_server": model_server})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m inference.serve", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", required=True, help='a local model folder, a hub id in the cache, or "embedded"'
    )
    parser.add_argument("--gguf-file", default=None, help="a GGUF file inside the model folder")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--batch-tokens", type=int, default=8192, help="token budget of one sampled batch")
    parser.add_argument("--max-best-of", type=int, default=16, help="largest best_of accepted")
    args = parser.parse_args(argv)
    try:
        spec = ModelSpec(model=args.model, gguf_file=args.gguf_file, batch_tokens=args.batch_tokens)
    except InferenceError as exc:
        parser.error(str(exc))
    model_server = ModelServer(spec, max_best_of=max(1, args.max_best_of))
    server = make_server(model_server, args.host, args.port)
    # Listen at once (GET /health says 503 until the model is loaded), then load.
    thread = threading.Thread(target=server.serve_forever, name="inference-serve", daemon=True)
    thread.start()
    print(
        f"inference.serve: listening on http://{args.host}:{server.server_address[1]}",
        file=sys.stderr,
        flush=True,
    )
    try:
        model_server.load()
        print(f"inference.serve: model {args.model} loaded", file=sys.stderr, flush=True)
        thread.join()
    except KeyboardInterrupt:
        pass
    except InferenceError as exc:
        print(f"inference.serve: {exc}", file=sys.stderr, flush=True)
        server.shutdown()
        raise SystemExit(1) from exc
    finally:
        server.server_close()


if __name__ == "__main__":
    main()

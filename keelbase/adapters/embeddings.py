"""Text embeddings computed locally by WordLlama (the ``embeddings`` extra).

WordLlama's wheel carries its weights (256 dimensions) and its tokenizer, so
nothing is downloaded at run time: the model is loaded with downloads
disabled. A vector field of fewer dimensions takes the first ones, made unit
length again (the model is trained so that its leading dimensions carry the
most: "Matryoshka" embeddings).
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

MAX_DIMENSIONS = 256
_lock = threading.Lock()
_model: Any = None


class EmbeddingsUnavailable(RuntimeError):
    """The ``embeddings`` extra is not installed."""


def available() -> bool:
    return importlib.util.find_spec("wordllama") is not None


def _loaded() -> Any:
    global _model
    with _lock:
        if _model is None:
            if not available():
                raise EmbeddingsUnavailable(
                    "text embeddings need the embeddings extra: pip install 'keelbase[embeddings]'"
                )
            import wordllama
            from wordllama import WordLlama

            # The tokenizer ships in the package's own ``tokenizers`` folder, which
            # WordLlama finds as its cache folder; downloads stay off.
            package = Path(wordllama.__file__).parent
            _model = WordLlama.load(dim=MAX_DIMENSIONS, cache_dir=package, disable_download=True)
        return _model


def embed(texts: list[str], dimensions: int) -> np.ndarray:
    """One unit-length float32 row of ``dimensions`` per text (blocking: call off the loop)."""
    import numpy as np

    if not 1 <= dimensions <= MAX_DIMENSIONS:
        raise ValueError(f"embeddings have at most {MAX_DIMENSIONS} dimensions")
    rows = np.asarray(_loaded().embed(texts), dtype=np.float32)[:, :dimensions]
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        rows = np.where(norms > 0, rows / norms, 0.0)
    return rows.astype(np.float32)

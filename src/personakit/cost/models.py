"""Model sizes: parameters, dtype and (where known) the attention shape behind the KV cache.

Pure. :class:`ModelSize` is what the advice needs to know about a model;
:func:`ModelSize.of` accepts a known JumpStart model id (``"huggingface-llm-falcon-7b-bf16"``),
a short name (``"falcon-7b"``), a ``(parameters, dtype)`` tuple (``(7e9, "bf16")``,
``("124M", "fp32")``) or a ``ModelSize``.

Memory (the KV-cache formula of
https://developer.nvidia.com/blog/mastering-llm-techniques-inference-optimization/):

- weights = parameters x bytes per parameter (fp32 4, fp16/bf16 2, int8 1, int4 0.5);
- KV cache per token = 2 x layers x KV heads x head dim x bytes, when the attention
  shape is known (e.g. Llama-2-7B: 512 KiB per token at fp16; Mistral-7B and
  Llama-3-8B, 8 KV heads: 128 KiB);
- otherwise a rule of thumb: 512 KiB per token for every 7 billion parameters at
  2 bytes (Llama-2-7B's multi-head attention, the pessimistic case; grouped-query
  and multi-query models need 4-32x less).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import attrs

from personakit.errors import ConfigurationError

__all__ = [
    "DTYPE_BYTES",
    "KNOWN_MODELS",
    "ModelKind",
    "ModelSize",
    "normalize_dtype",
]

#: Bytes per parameter of each dtype personakit reasons about.
DTYPE_BYTES: Mapping[str, float] = {"fp32": 4.0, "fp16": 2.0, "bf16": 2.0, "int8": 1.0, "int4": 0.5}

_DTYPE_ALIASES: Mapping[str, str] = {
    "fp32": "fp32",
    "float32": "fp32",
    "float": "fp32",
    "f32": "fp32",
    "torch.float32": "fp32",
    "fp16": "fp16",
    "float16": "fp16",
    "half": "fp16",
    "f16": "fp16",
    "torch.float16": "fp16",
    "bf16": "bf16",
    "bfloat16": "bf16",
    "torch.bfloat16": "bf16",
    "int8": "int8",
    "8bit": "int8",
    "8-bit": "int8",
    "int4": "int4",
    "4bit": "int4",
    "4-bit": "int4",
}

ModelKind = Literal["generation", "embedding"]

#: KV bytes per token of Llama-2-7B at fp16 (2 x 32 layers x 32 KV heads x 128 x 2 bytes,
#: https://huggingface.co/meta-llama/Llama-2-7b-hf config.json): the rule of thumb's anchor.
_RULE_KV_BYTES_PER_TOKEN = 512 * 1024
_RULE_PARAMS = 7e9


def normalize_dtype(dtype: str) -> str:
    """``"bfloat16"`` -> ``"bf16"``, ``"float16"`` -> ``"fp16"``, ...

    Raises:
        ConfigurationError: an unknown dtype.
    """
    key = str(dtype).strip().lower()
    try:
        return _DTYPE_ALIASES[key]
    except KeyError:
        known = ", ".join(DTYPE_BYTES)
        raise ConfigurationError(f"unknown dtype {dtype!r}; use one of {known}") from None


_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?\d+)?)\s*([kmbt]?)\s*$", re.IGNORECASE)
_SCALE = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}


def parse_parameters(value: float | int | str) -> float:
    """A parameter count from ``7e9``, ``"7B"``, ``"124M"``, ``"22.7m"``, or ``7`` (billions).

    Plain numbers below 100,000 are read as billions, so ``(7, "bf16")`` means 7B.
    """
    if isinstance(value, str):
        match = _SIZE.match(value)
        if not match:
            raise ConfigurationError(
                f"cannot read a parameter count from {value!r}; write e.g. '7B', '124M' or 7e9"
            )
        number = float(match.group(1)) * _SCALE[match.group(2).lower()]
        if not match.group(2) and number < 1e5:
            number *= 1e9
    else:
        number = float(value)
        if number < 1e5:
            number *= 1e9
    if not number > 0:
        raise ConfigurationError(f"a model needs a positive parameter count, got {value!r}")
    return number


def _dtype(value: str) -> str:
    return normalize_dtype(value)


def _str_tuple(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class ModelSize:
    """How big a model is, and the attention shape its KV cache follows.

    Args:
        parameters: parameter count (``7e9``).
        dtype: the dtype its checkpoint is published in (``"bf16"``).
        name: a short name for messages.
        kind: ``"generation"`` (decoder LLM) or ``"embedding"`` (encoder).
        layers, attention_heads, kv_heads, head_dim: attention shape; ``None`` when
            unknown, and the KV cache then follows the documented rule of thumb.
        hidden_size: with ``layers`` and no ``kv_heads``/``head_dim``, the KV cache is
            computed for multi-head attention (``kv_heads x head_dim = hidden_size``).
        max_context: the model's context window (tokens), where known.
        source: where these numbers come from.
    """

    parameters: float = attrs.field(converter=parse_parameters)
    dtype: str = attrs.field(default="fp16", converter=_dtype)
    name: str | None = None
    kind: ModelKind = "generation"
    layers: int | None = None
    attention_heads: int | None = None
    kv_heads: int | None = None
    head_dim: int | None = None
    hidden_size: int | None = None
    max_context: int | None = None
    source: str = ""
    jumpstart_ids: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)

    @property
    def label(self) -> str:
        """The name, or ``"7.0B-parameter model"``."""
        return self.name or f"{_fmt_params(self.parameters)}-parameter model"

    @property
    def billions(self) -> float:
        """Parameters in billions."""
        return self.parameters / 1e9

    @property
    def knows_attention(self) -> bool:
        """Whether the KV cache can be computed from the attention shape."""
        if self.layers is None:
            return False
        return None not in (self.kv_heads, self.head_dim) or self.hidden_size is not None

    def weight_bytes(self, dtype: str | None = None) -> float:
        """Bytes of the weights at ``dtype`` (the native dtype when ``None``)."""
        return self.parameters * DTYPE_BYTES[normalize_dtype(dtype or self.dtype)]

    def kv_bytes_per_token(self, dtype: str | None = None) -> float:
        """KV-cache bytes per token of one sequence at ``dtype`` (see the module doc).

        Quantized weights (int8/int4) keep a 16-bit KV cache.
        """
        if self.kind == "embedding":
            return 0.0
        name = normalize_dtype(dtype or self.dtype)
        kv_bytes = 4.0 if name == "fp32" else 2.0
        if self.knows_attention:
            layers = self.layers or 0
            if self.kv_heads is not None and self.head_dim is not None:
                width = self.kv_heads * self.head_dim
            else:  # multi-head attention: every head keeps K and V
                width = self.hidden_size or 0
            return 2.0 * layers * width * kv_bytes
        return _RULE_KV_BYTES_PER_TOKEN * (self.parameters / _RULE_PARAMS) * (kv_bytes / 2.0)

    def describe(self, dtype: str | None = None) -> str:
        """``"falcon-7b: 7.0B parameters, bf16 (13.0 GiB of weights)"``."""
        name = normalize_dtype(dtype or self.dtype)
        weights = self.weight_bytes(name) / 2**30
        return (
            f"{self.label}: {_fmt_params(self.parameters)} parameters, {name} "
            f"({weights:.2f} GiB of weights)"
        )

    # ------------------------------------------------------------------ coercion

    @classmethod
    def of(cls, model: ModelSize | str | tuple[Any, ...]) -> ModelSize:
        """A :class:`ModelSize` from a model id or short name, a tuple, or a ModelSize.

        Tuples are ``(parameters, dtype)`` or ``(parameters, dtype, name)``.

        Raises:
            ConfigurationError: an unknown model name or a malformed tuple.
        """
        if isinstance(model, ModelSize):
            return model
        if isinstance(model, str):
            return cls.from_id(model)
        if isinstance(model, tuple) and len(model) in (2, 3):
            name = str(model[2]) if len(model) == 3 else None
            return cls(parameters=model[0], dtype=str(model[1]), name=name)
        raise ConfigurationError(
            f"cannot size model {model!r}: pass a known model id, (parameters, dtype) "
            "such as (7e9, 'bf16'), or a personakit.cost.ModelSize"
        )

    @classmethod
    def from_id(cls, model_id: str) -> ModelSize:
        """The built-in size of a JumpStart model id or short name (see :data:`KNOWN_MODELS`).

        Raises:
            ConfigurationError: the id is not in the built-in table.
        """
        key = _lookup_key(model_id)
        if key is None:
            known = ", ".join(sorted(KNOWN_MODELS))
            raise ConfigurationError(
                f"personakit does not know the size of {model_id!r} (known: {known}); pass "
                "(parameters, dtype) instead, e.g. advise((7e9, 'bf16'))"
            )
        return KNOWN_MODELS[key]


def _fmt_params(parameters: float) -> str:
    if parameters >= 1e9:
        return f"{parameters / 1e9:.1f}B"
    return f"{parameters / 1e6:.0f}M"


_HF = "https://huggingface.co/"
#: Sizes of the JumpStart models personakit knows by name. Parameter counts are the
#: model cards' (and the Hub's safetensors counts); attention shapes come from each
#: model's ``config.json`` on the Hugging Face Hub, and imply its KV cache (Mistral-7B
#: and Llama-3-8B: 8 KV heads, 128 KiB per token at fp16; Falcon-7B: multi-query, one
#: KV head).
KNOWN_MODELS: Mapping[str, ModelSize] = {
    "falcon-7b": ModelSize(
        parameters=7.0e9,
        dtype="bf16",
        name="falcon-7b",
        layers=32,
        attention_heads=71,
        kv_heads=1,
        head_dim=64,
        max_context=2048,
        source=(
            f"{_HF}tiiuae/falcon-7b (model card: '7B parameters'; config.json: 32 layers, "
            "hidden 4544, 71 heads, multi_query -> 1 KV head, torch_dtype bfloat16); "
            "JumpStart spec huggingface-llm-falcon-7b-bf16: MAX_TOTAL_TOKENS=2048"
        ),
        jumpstart_ids=(
            "huggingface-llm-falcon-7b-bf16",
            "huggingface-llm-falcon-7b-instruct-bf16",
        ),
    ),
    "gpt2": ModelSize(
        parameters=124e6,
        dtype="fp32",
        name="gpt2",
        layers=12,
        attention_heads=12,
        kv_heads=12,
        head_dim=64,
        max_context=1024,
        source=(
            f"{_HF}openai-community/gpt2 (model card: 124M parameters; config.json: n_layer 12, "
            "n_head 12, n_embd 768, n_positions 1024; float32 weights)"
        ),
        jumpstart_ids=("huggingface-textgeneration-gpt2",),
    ),
    "bloom-1b7": ModelSize(
        parameters=1.72e9,
        dtype="fp16",
        name="bloom-1b7",
        layers=24,
        attention_heads=16,
        kv_heads=16,
        head_dim=128,
        max_context=2048,
        source=(
            f"{_HF}bigscience/bloom-1b7 (model card: 1,722,408,960 parameters; config.json: "
            "n_layer 24, hidden 2048, n_head 16; ≈3.4 GB at fp16)"
        ),
        jumpstart_ids=(
            "huggingface-textgeneration-bloom-1b7",
            "huggingface-textgeneration1-bloom-1b7",
            "huggingface-textgeneration-bloomz-1b7",
        ),
    ),
    "bloom-1b1": ModelSize(
        parameters=1.07e9,
        dtype="fp16",
        name="bloom-1b1",
        layers=24,
        attention_heads=16,
        kv_heads=16,
        head_dim=96,
        max_context=2048,
        source=(
            f"{_HF}bigscience/bloom-1b1 (model card: 1,065,314,304 parameters; config.json: "
            "n_layer 24, hidden 1536, n_head 16)"
        ),
        jumpstart_ids=(
            "huggingface-textgeneration-bloom-1b1",
            "huggingface-textgeneration1-bloom-1b1",
        ),
    ),
    "mistral-7b": ModelSize(
        parameters=7.24e9,
        dtype="bf16",
        name="mistral-7b",
        layers=32,
        attention_heads=32,
        kv_heads=8,
        head_dim=128,
        max_context=32768,
        source=(
            f"{_HF}mistralai/Mistral-7B-v0.1 (7.24B parameters; config.json: 32 layers, "
            "32 heads, 8 KV heads, hidden 4096, torch_dtype bfloat16; 128 KiB KV per token "
            "at fp16)"
        ),
        jumpstart_ids=(
            "huggingface-llm-mistral-7b",
            "huggingface-llm-mistral-7b-instruct",
            "huggingface-llm-mistral-7b-instruct-v3",
        ),
    ),
    "llama-3-8b": ModelSize(
        parameters=8.03e9,
        dtype="bf16",
        name="llama-3-8b",
        layers=32,
        attention_heads=32,
        kv_heads=8,
        head_dim=128,
        max_context=8192,
        source=(
            f"{_HF}meta-llama/Meta-Llama-3-8B (8.03B parameters; config.json: 32 layers, "
            "32 heads, 8 KV heads, hidden 4096, torch_dtype bfloat16)"
        ),
        jumpstart_ids=(
            "meta-textgeneration-llama-3-8b",
            "meta-textgeneration-llama-3-8b-instruct",
        ),
    ),
    "llama-3-70b": ModelSize(
        parameters=70.6e9,
        dtype="bf16",
        name="llama-3-70b",
        layers=80,
        attention_heads=64,
        kv_heads=8,
        head_dim=128,
        max_context=8192,
        source=(
            f"{_HF}meta-llama/Meta-Llama-3-70B (70.6B parameters; config.json: 80 layers, "
            "64 heads, 8 KV heads, hidden 8192, torch_dtype bfloat16)"
        ),
        jumpstart_ids=(
            "meta-textgeneration-llama-3-70b",
            "meta-textgeneration-llama-3-70b-instruct",
            "meta-textgeneration-llama-3-1-70b",
            "meta-textgeneration-llama-3-1-70b-instruct",
        ),
    ),
    "all-minilm-l6-v2": ModelSize(
        parameters=22.7e6,
        dtype="fp32",
        name="all-MiniLM-L6-v2",
        kind="embedding",
        layers=6,
        attention_heads=12,
        head_dim=32,
        max_context=256,
        source=(
            f"{_HF}sentence-transformers/all-MiniLM-L6-v2 (22.7M parameters, float32; "
            "6 layers, hidden 384; inputs truncated at 256 word pieces)"
        ),
        jumpstart_ids=(
            "huggingface-textembedding-all-MiniLM-L6-v2",
            "huggingface-sentencesimilarity-all-MiniLM-L6-v2",
        ),
    ),
}

_BY_ID: Mapping[str, str] = {
    jid.lower(): key for key, size in KNOWN_MODELS.items() for jid in size.jumpstart_ids
}
_PREFIXES = (
    "huggingface-llm-",
    "huggingface-textgeneration1-",
    "huggingface-textgeneration2-",
    "huggingface-textgeneration-",
    "huggingface-textembedding-",
    "huggingface-sentencesimilarity-",
    "meta-textgeneration-",
    "sentence-transformers/",
    "openai-community/",
    "bigscience/",
    "tiiuae/",
    "mistralai/",
    "meta-llama/",
)
_SUFFIXES = ("-instruct", "-bf16", "-fp16", "-v0.1", "-v3", "-hf")


def _lookup_key(model_id: str) -> str | None:
    raw = model_id.strip().split("@", 1)[0].lower()
    if raw in _BY_ID:
        return _BY_ID[raw]
    name = raw
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix) :]
    changed = True
    while changed:
        changed = False
        for suffix in _SUFFIXES:
            if name.endswith(suffix):
                name = name[: -len(suffix)]
                changed = True
    name = name.replace("meta-llama-3", "llama-3").replace("llama-3-1-", "llama-3-")
    name = name.replace("bloomz-", "bloom-")
    if name in KNOWN_MODELS:
        return name
    return None

"""SageMaker JumpStart LLMs with plain boto3: resolution, deployment, invocation, teardown.

::

    import personakit as pk
    from personakit.llm import LLMEndpoint

    with LLMEndpoint.deploy(session, "huggingface-llm-falcon-7b-bf16", version="4.*") as llm:
        print(llm.generate("What is Amazon Personalize?", max_new_tokens=64))

Modules: :mod:`~personakit.llm.formats` (payloads and streaming, pure),
:mod:`~personakit.llm.resolve` (a spec to ``CreateModel`` inputs, pure),
:mod:`~personakit.llm.jumpstart` (the catalog: manifest, specs, cache and snapshot; no
I/O beyond its s3 reads), :mod:`~personakit.llm.hosting` (timing, waits, the deploy
guard protocol, SageMaker's answers), :mod:`~personakit.llm.endpoint` (:class:`LLMEndpoint`).
Names are imported on first use, so ``import personakit.llm`` costs next to nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from personakit.errors import (
    CatalogUnavailableError,
    EndpointFailedError,
    EulaRequiredError,
    ModelNotFoundError,
    ModelResponseError,
    TeardownError,
    UnsupportedInstanceError,
)

if TYPE_CHECKING:
    from personakit.llm.endpoint import LLMEndpoint
    from personakit.llm.formats import Generation, PayloadFormat
    from personakit.llm.hosting import DeployGuard, EndpointTiming
    from personakit.llm.jumpstart import JumpStartCatalog, ManifestEntry
    from personakit.llm.resolve import (
        JumpStartWarning,
        OutOfSpecInstanceWarning,
        ResolvedModel,
        resolve_spec,
    )

_EXPORTS = {
    "DeployGuard": "hosting",
    "EndpointTiming": "hosting",
    "LLMEndpoint": "endpoint",
    "Generation": "formats",
    "PayloadFormat": "formats",
    "JumpStartCatalog": "jumpstart",
    "JumpStartWarning": "resolve",
    "ManifestEntry": "jumpstart",
    "OutOfSpecInstanceWarning": "resolve",
    "ResolvedModel": "resolve",
    "resolve_spec": "resolve",
}

__all__ = [
    "CatalogUnavailableError",
    "DeployGuard",
    "EndpointFailedError",
    "EndpointTiming",
    "EulaRequiredError",
    "Generation",
    "JumpStartCatalog",
    "JumpStartWarning",
    "LLMEndpoint",
    "ManifestEntry",
    "ModelNotFoundError",
    "ModelResponseError",
    "OutOfSpecInstanceWarning",
    "PayloadFormat",
    "ResolvedModel",
    "TeardownError",
    "UnsupportedInstanceError",
    "resolve_spec",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})

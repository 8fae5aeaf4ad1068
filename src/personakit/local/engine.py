"""``LocalEngine``: the embedded engine behind ``Session.local`` and its clients.

::

    from personakit.local import LocalEngine

    with LocalEngine("./pk-workspace") as engine:
        personalize = engine.client("personalize")      # same methods and shapes as boto3's
        s3 = engine.client("s3")
        engine.register_model("huggingface-llm-falcon-7b-bf16",
                              generate=lambda prompt, params: "an answer")
        sagemaker = engine.client("sagemaker")          # LLM endpoints served by that callable

One engine owns one workspace folder (see :mod:`personakit.local.store` for the
layout and the concurrency and crash guarantees) and two kinds of background
threads: a scheduler that walks resources through their status strings (each
status lasts at least ``min_state_s``), and ``workers`` threads for the heavy jobs
(dataset imports, training). ``close()`` (or leaving the ``with`` block) stops
them; jobs still training are marked ``CREATE FAILED`` because a job never
outlives its engine, and resources that were merely between two statuses are
finished by the next engine that opens the workspace.
"""

from __future__ import annotations

import importlib
import logging
import re
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from personakit.errors import ConfigurationError, SessionClosedError
from personakit.local.jobs import PersonalizeControlPlane
from personakit.local.runner import ModelCache, Runner
from personakit.local.store import Store
from personakit.local.twin import DEFAULT_ACCOUNT

if TYPE_CHECKING:
    from botocore.config import Config

    from personakit.local.control import ControlPlane
    from personakit.local.sagemaker import EmbedFn, GenerateFn, LocalModels, RawFn
    from personakit.local.themes import ThemeWriter
    from personakit.local.twin import Twin

__all__ = ["DEFAULT_ACCOUNT", "DEFAULT_MIN_STATE_S", "SERVICES", "LocalEngine"]

logger = logging.getLogger(__name__)

#: Services the engine answers for.
SERVICES: tuple[str, ...] = (
    "personalize",
    "personalize-runtime",
    "personalize-events",
    "s3",
    "sagemaker",
    "sagemaker-runtime",
)
#: Minimum time a resource spends in each status (seconds): short, but real.
DEFAULT_MIN_STATE_S = 0.05
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+\Z")


#: Where each service's operation handlers live: (module, class).
_HANDLERS: dict[str, tuple[str, str]] = {
    "personalize": ("personakit.local.personalize", "PersonalizeTwin"),
    "personalize-runtime": ("personakit.local.runtime", "PersonalizeRuntimeTwin"),
    "personalize-events": ("personakit.local.runtime", "PersonalizeEventsTwin"),
    "s3": ("personakit.local.s3", "S3Twin"),
    "sagemaker": ("personakit.local.sagemaker", "SageMakerTwin"),
    "sagemaker-runtime": ("personakit.local.sagemaker", "SageMakerRuntimeTwin"),
}


def _no_config(service_name: str) -> Config | None:
    return None


def _shutdown(runner: Runner, store: Store) -> None:
    runner.stop(timeout=1.0)
    store.close()


class LocalEngine:
    """The embedded engine: AWS's services offline, behind real boto3 clients.

    Args:
        path: the workspace folder (created if missing); several engines, in one
            process or several, may share it.
        region: the region in every ARN and ``client.meta.region_name``.
        account_id: the 12-digit account in every ARN.
        min_state_s: minimum seconds a resource spends in each status, so waits and
            progress bars see ``CREATE PENDING`` -> ``CREATE IN_PROGRESS`` ->
            ``ACTIVE`` by real polling. ``0`` makes transitions as fast as possible.
        workers: threads running imports and training at the same time.
        recover_every_s: how often the engine looks for work left behind by a dead
            process sharing the workspace (it also does when it opens).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        region: str = "us-east-1",
        account_id: str = DEFAULT_ACCOUNT,
        min_state_s: float = DEFAULT_MIN_STATE_S,
        workers: int = 2,
        recover_every_s: float = 1.0,
    ) -> None:
        if not _REGION.match(region):
            raise ValueError(f"region {region!r} is not a region name such as 'us-east-1'")
        if not re.fullmatch(r"\d{12}", account_id):
            raise ValueError(f"account_id must be 12 digits, got {account_id!r}")
        if min_state_s < 0:
            raise ValueError("min_state_s must be >= 0")
        self.path = Path(path).expanduser().absolute()
        self.region = region
        self.account_id = account_id
        self.min_state_s = float(min_state_s)
        self.recover_every_s = float(recover_every_s)
        self.store = Store(self.path)
        self.runner = Runner(workers)
        self.models = ModelCache()
        self._llm: LocalModels | None = None
        self._llm_lock = threading.Lock()
        #: names the themes of THEME_GENERATION batch jobs (None: built from metadata)
        self.theme_writer: ThemeWriter | None = None
        self._closed = False
        #: the botocore ``Config`` of a new client of a service (a ``Session`` sets it)
        self.config_for: Callable[[str], Config | None] = _no_config
        self._finalizer = weakref.finalize(self, _shutdown, self.runner, self.store)
        self.control: ControlPlane = PersonalizeControlPlane(self)
        self.control.recover()
        self.control.sweep()
        if self.recover_every_s > 0:
            self.runner.call_later(self.recover_every_s, self._periodic)

    # ------------------------------------------------------------------ clients
    def client(
        self,
        service_name: str,
        region_name: str | None = None,
        *,
        config: Config | None = None,
        **_: Any,
    ) -> Any:
        """A real boto3 client of ``service_name`` (one of :data:`SERVICES`) whose
        requests this engine answers over AWS's wire protocol.

        It is the class ``boto3.client(service_name)`` returns: botocore's serializer,
        parser, retries (``config``, else :attr:`config_for`), paginators and
        waiters run as against AWS; only the transport differs (see
        :mod:`personakit.local.wire`).
        """
        self.check_open()
        if region_name is not None and region_name != self.region:
            raise ValueError(
                f"this local engine serves region {self.region}, not {region_name}; "
                "open another LocalEngine(region=...) for another region"
            )
        from personakit.local.wire import wire_client  # botocore's client stack: on first use

        chosen = config if config is not None else self.config_for(service_name)
        return wire_client(self.handler(service_name), region=self.region, config=chosen)

    def handler(self, service_name: str) -> Twin:
        """The engine's operation handlers for ``service_name`` (what a client's requests
        reach); one of :data:`SERVICES`."""
        self.check_open()
        if service_name not in _HANDLERS:
            raise ConfigurationError(
                f"the local engine has no {service_name!r}; it serves "
                f"{', '.join(SERVICES)} (use Session.aws(...) for other services)"
            )
        module, name = _HANDLERS[service_name]
        kind: Any = getattr(importlib.import_module(module), name)  # handlers load on first use
        if service_name.startswith("sagemaker"):
            handler: Twin = kind(region_name=self.region, models=self.llm)
        else:
            handler = kind(self)
        return handler

    # ------------------------------------------------------------------ LLM handlers
    @property
    def llm(self) -> LocalModels:
        """The SageMaker handlers' registry: models, endpoint configs, endpoints, handlers."""
        with self._llm_lock:
            if self._llm is None:
                from personakit.local.sagemaker import LocalModels  # on first use

                self._llm = LocalModels(account_id=self.account_id, region=self.region)
            return self._llm

    def register_model(
        self,
        model_id: str,
        generate: GenerateFn | None = None,
        *,
        embed: EmbedFn | None = None,
        raw: RawFn | None = None,
    ) -> None:
        """Serve ``model_id`` on this engine's SageMaker endpoints with a Python callable.

        The local engine has no LLM of its own: an endpoint whose model has no
        callable ends ``Failed``, with a ``FailureReason`` saying how to register one.
        ``model_id`` is a JumpStart model id (``"huggingface-llm-falcon-7b-bf16"``)
        or a SageMaker model name. Registering again replaces the callable, also
        for endpoints already in service.

        Args:
            model_id: The JumpStart model id or SageMaker model name.
            generate: ``generate(prompt, params) -> str`` answers text generation in
                whichever payload shape the request uses (TGI ``inputs``, the
                messages API, the older ``text_inputs``), streamed or not;
                ``params`` are the request's generation parameters.
            embed: ``embed(texts) -> list of vectors`` answers embedding requests.
            raw: ``raw(body) -> response body`` takes over the request completely.

        Raises:
            ValueError: None of the three callables given.
        """
        self.check_open()
        self.llm.register(model_id, generate=generate, embed=embed, raw=raw)

    def register_theme_writer(self, writer: ThemeWriter | None) -> None:
        """Name the themes of ``THEME_GENERATION`` batch inference jobs with ``writer``.

        ``writer(request) -> str`` gets a :class:`~personakit.local.themes.ThemeRequest`
        (an input item and its related items, with names and descriptions; its
        ``prompt`` is ready for an LLM) and returns the theme. ``None`` goes back to
        themes built from item metadata (:func:`~personakit.local.themes.fallback_theme`).
        A writer that raises or returns empty text gives that input line an ``error``;
        the job's other lines still get their themes. It is called from the engine's
        worker threads, one input line at a time.
        """
        if writer is not None and not callable(writer):
            raise TypeError(f"a theme writer must be callable, got {type(writer).__name__}")
        self.theme_writer = writer

    @property
    def role_arn(self) -> str:
        """An IAM role ARN in the engine's account, for requests that want one."""
        return f"arn:aws:iam::{self.account_id}:role/personakit-local"

    def ensure_bucket(self, name: str) -> str:
        """Create the engine's S3 bucket ``name`` unless it exists; returns the name."""
        s3 = self.client("s3")
        try:
            s3.head_bucket(Bucket=name)
        except s3.exceptions.ClientError:
            params: dict[str, Any] = {"Bucket": name}
            if self.region != "us-east-1":
                params["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
            s3.create_bucket(**params)
        return name

    # ------------------------------------------------------------------ lifecycle
    @property
    def closed(self) -> bool:
        return self._closed

    def check_open(self) -> None:
        """Raise :class:`~personakit.errors.SessionClosedError` once the engine is closed."""
        if self._closed:
            raise SessionClosedError(
                f"the local engine at {str(self.path)!r} is closed: its session was closed "
                "(session.close(), LocalEngine.close() or the end of its `with` block), so "
                "its clients and the resources made through them cannot be used any more. "
                "Make the calls inside the `with pk.Session.local(...) as session:` block, "
                "or open a new session on the same workspace, pk.Session.local("
                f"{str(self.path)!r}): what was created there is still there"
            )

    def _periodic(self) -> None:
        if self._closed:
            return
        try:
            self.control.recover()
        finally:
            self.runner.call_later(self.recover_every_s, self._periodic)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the background threads and release the workspace (idempotent).

        Imports and training still running are marked ``CREATE FAILED``; resources
        between two statuses are completed by the next engine on this workspace.
        """
        if self._closed:
            return
        self._closed = True
        ended = self.runner.stop(timeout)
        try:
            self.control.abandon_heavy_jobs()
        except Exception:  # pragma: no cover - the store may already be unusable
            logger.exception("personakit local engine: could not mark unfinished jobs")
        if not ended:
            logger.warning(
                "personakit local engine: a background job is still running after %.1fs; "
                "its result will be discarded",
                timeout,
            )
        self._finalizer.detach()
        self.store.close()

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"LocalEngine({str(self.path)!r}, region={self.region!r}, {state})"

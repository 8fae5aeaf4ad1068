"""The Session: where personakit gets its clients, its settings and its tags.

Every AWS call personakit makes goes through a client with boto3's own method
names and shapes, handed out by one :class:`Session`. A session wraps an
*engine* (a :class:`ClientProvider`): :meth:`Session.aws` builds a
:class:`Boto3Provider` that creates real boto3 clients; :meth:`Session.local`
builds the embedded :class:`~personakit.local.LocalEngine`, whose twins of those
clients run offline. The resource classes only ever call ``session.client(...)``,
so they never know which engine they talk to.

Nothing is global: no module-level clients or sessions. Settings resolve, each
on its own, as *explicit argument* > ``PERSONAKIT_*`` environment variable >
default::

    session = pk.Session.aws(region_name="eu-west-1", bucket="my-bucket",
                             role_arn="arn:aws:iam::111122223333:role/personakit")
    personalize = session.client("personalize")   # typed as PersonalizeClient under mypy
    print(session.check_access())                  # bucket region, bucket policy, role, KMS

    with pk.Session.local("./pk-workspace") as session:   # the same, offline and free
        ...
"""

from __future__ import annotations

import html
import logging
import os
import re
import secrets
import shlex
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, overload

from personakit.aws import iam as _iam
from personakit.aws.clients import (
    SERVICES,
    Boto3Provider,
    ClientConfigs,
    ClientProvider,
    ServiceName,
)
from personakit.aws.progress import ProgressDisplay
from personakit.aws.timing import Timing
from personakit.errors import ConfigurationError
from personakit.rules.facts import MAX_TAG_KEYS, RUN_TAG

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_personalize import PersonalizeClient
    from mypy_boto3_personalize.type_defs import TagTypeDef as PersonalizeTag
    from mypy_boto3_personalize_events import PersonalizeEventsClient
    from mypy_boto3_personalize_runtime import PersonalizeRuntimeClient
    from mypy_boto3_pricing import PricingClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker.type_defs import TagTypeDef as SageMakerTag
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient
    from mypy_boto3_sts import STSClient

    from personakit.aws.access import AccessReport
    from personakit.local.themes import ThemeWriter


__all__ = ["DEFAULT_PREFIX", "RUN_METADATA", "Session"]

DEFAULT_PREFIX = "personakit/"
#: The S3 user metadata (``x-amz-meta-personakit-run``) on every object personakit
#: uploads: the run id, so a sweep can prove an object is personakit's.
RUN_METADATA = "personakit-run"

logger = logging.getLogger(__name__)

_ENV = {
    "region": "PERSONAKIT_REGION",
    "bucket": "PERSONAKIT_BUCKET",
    "prefix": "PERSONAKIT_PREFIX",
    "role_arn": "PERSONAKIT_ROLE_ARN",
    "kms_key_arn": "PERSONAKIT_KMS_KEY_ARN",
    "sagemaker_role_arn": "PERSONAKIT_SAGEMAKER_ROLE_ARN",
}
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}\Z")
_TAG_TEXT = re.compile(r"^[\w\s.:/=+\-@]*$")
_MAX_USER_TAGS = MAX_TAG_KEYS - 1  # one is personakit:run


def _env(name: str) -> str | None:
    value = os.environ.get(_ENV[name], "").strip()
    return value or None


def _pick(explicit: str | None, name: str) -> str | None:
    return explicit if explicit is not None else _env(name)


def _norm_prefix(prefix: str) -> str:
    prefix = prefix.strip().strip("/")
    return prefix + "/" if prefix else ""


def _check_bucket(bucket: str) -> str:
    if bucket.startswith("s3://"):
        rest = bucket[len("s3://") :]
        name, _, path = rest.partition("/")
        hint = f"bucket={name!r}" + (f", prefix={path!r}" if path else "")
        raise ConfigurationError(f"bucket takes a bucket name, not a URI: pass {hint}")
    return _iam._check_bucket(bucket)


def _new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


def _check_tag(key: str, value: str) -> None:
    if not isinstance(key, str) or not isinstance(value, str):
        raise ConfigurationError(f"tag keys and values must be strings, got {key!r}: {value!r}")
    if not 1 <= len(key) <= 128 or len(value) > 256:
        raise ConfigurationError(f"tag {key!r}: keys take 1-128 characters and values at most 256")
    if key.lower().startswith("aws:"):
        raise ConfigurationError(f"tag {key!r}: keys starting with 'aws:' are reserved by AWS")
    if not _TAG_TEXT.match(key) or not _TAG_TEXT.match(value):
        raise ConfigurationError(
            f"tag {key!r}: {value!r}: tags take letters, digits, spaces and _ . : / = + - @"
        )


def _check_user_tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    tags = dict(tags or {})
    if RUN_TAG in tags:
        raise ConfigurationError(
            f"{RUN_TAG!r} is personakit's own tag; set it with run_id=... instead"
        )
    if len(tags) > _MAX_USER_TAGS:
        raise ConfigurationError(
            f"{len(tags)} tags given; a resource takes 50 tag keys, one of them {RUN_TAG!r}"
        )
    for key, value in tags.items():
        _check_tag(key, value)
    return tags


def _client_region(client: Any) -> str | None:
    meta = getattr(client, "meta", None)
    region = getattr(meta, "region_name", None)
    return region if isinstance(region, str) else None


_MISSING_REGION = (
    "No AWS region is configured. Set one of: Session.aws(region_name='eu-west-1'); "
    "the environment variable PERSONAKIT_REGION (or AWS_DEFAULT_REGION); "
    "'region = eu-west-1' in your AWS profile (~/.aws/config); or "
    "pass a boto3.Session(region_name=...). Amazon Personalize runs in: {regions}."
)


def _local_timing() -> Timing:
    """Polls for the local engine, whose statuses last tens of milliseconds, not minutes."""
    return Timing(
        poll_s=0.05,
        max_poll_s=0.5,
        train_poll_s=0.05,
        train_max_poll_s=0.5,
        delete_timeout_s=600.0,
        in_use_timeout_s=300.0,
    )


# --------------------------------------------------------------------------- session


class Session:
    """Clients, settings and tags for everything personakit creates.

    Build one with :meth:`Session.aws` or :meth:`Session.local`. The constructor
    is for engines: it takes any :class:`ClientProvider`.

    Args:
        engine: makes the clients.
        region: the AWS region every resource lives in.
        bucket: the S3 bucket for uploads, imports and batch output.
        prefix: key prefix under the bucket; ``""`` for the bucket's root.
        role_arn: the IAM role Personalize assumes to read the bucket.
        sagemaker_role_arn: the execution role of SageMaker endpoints
            (:class:`~personakit.llm.LLMEndpoint`); ``role_arn`` serves when None.
        kms_key_arn: customer managed KMS key for dataset groups and job output.
        run_id: the value of the ``personakit:run`` tag on everything this session
            creates; generated (UTC time + random) when not given. 1-40 letters,
            digits, ``-`` and ``_`` so it also fits in resource names.
        tags: your own tags, added to every resource.
        clients: ready clients by service name, used as given instead of asking
            the engine.
        timing: the retry and poll settings the resource classes use on this
            session (a :class:`~personakit.aws.timing.Timing`) unless given their own.
        on_close: called once by :meth:`close` (e.g. to close an engine the
            session owns).
        progress: the live progress of its waits (:attr:`progress`): ``True`` or
            ``False``; a :class:`~personakit.aws.progress.ProgressDisplay` to share
            one; ``None`` for ``timing.progress`` when that is set, else the
            ``PERSONAKIT_PROGRESS`` environment variable (``0``/``off``, ``1``/``on``,
            ``plain``), else on.
    """

    def __init__(
        self,
        engine: ClientProvider,
        *,
        region: str,
        bucket: str | None = None,
        prefix: str = DEFAULT_PREFIX,
        role_arn: str | None = None,
        sagemaker_role_arn: str | None = None,
        kms_key_arn: str | None = None,
        run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        clients: Mapping[str, Any] | None = None,
        timing: Timing | None = None,
        on_close: Callable[[], None] | None = None,
        progress: bool | ProgressDisplay | None = None,
    ) -> None:
        if not region:
            raise ConfigurationError("Session needs a region")
        run_id = run_id if run_id is not None else _new_run_id()
        if not _RUN_ID.match(run_id):
            raise ConfigurationError(
                f"run_id {run_id!r}: use 1-40 letters, digits, '-' and '_', starting "
                "with a letter or digit (it goes into tags and resource names)"
            )
        self._engine = engine
        self._region = _iam._check_region(region)
        self._bucket = _check_bucket(bucket) if bucket is not None else None
        self._prefix = _norm_prefix(prefix)
        self._role_arn = _iam.check_role_arn(role_arn) if role_arn is not None else None
        self._sagemaker_role_arn = (
            _iam.check_role_arn(sagemaker_role_arn) if sagemaker_role_arn is not None else None
        )
        self._timing = timing
        self._on_close = on_close
        self._closed = False
        self._kms_key_arn = _iam.check_kms_key_arn(kms_key_arn) if kms_key_arn is not None else None
        self._run_id = run_id
        self._user_tags = _check_user_tags(tags)
        self._clients: dict[str, Any] = {}
        for service, client in (clients or {}).items():
            self._check_service(service)
            self._clients[service] = client
        self._lock = threading.Lock()
        self._account_id: str | None = None
        if progress is None and timing is not None:
            progress = timing.progress
        self._owns_progress = not isinstance(progress, ProgressDisplay)
        self._progress = ProgressDisplay.resolve(progress)

    @classmethod
    def aws(
        cls,
        boto3_session: boto3.Session | None = None,
        region_name: str | None = None,
        bucket: str | None = None,
        prefix: str | None = None,
        role_arn: str | None = None,
        kms_key_arn: str | None = None,
        config: Config | None = None,
        clients: Mapping[str, Any] | None = None,
        run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        sagemaker_role_arn: str | None = None,
        progress: bool | ProgressDisplay | None = None,
    ) -> Session:
        """A session on AWS, with real boto3 clients.

        Each setting resolves on its own: explicit argument, then the
        ``PERSONAKIT_*`` environment variable, then the default:

        | argument | environment variable | default |
        |---|---|---|
        | `region_name` | `PERSONAKIT_REGION` | the boto3 session's region (see below) |
        | `bucket` | `PERSONAKIT_BUCKET` | none (imports and batch jobs need one) |
        | `prefix` | `PERSONAKIT_PREFIX` | `"personakit/"` |
        | `role_arn` | `PERSONAKIT_ROLE_ARN` | none (imports and batch jobs need one) |
        | `kms_key_arn` | `PERSONAKIT_KMS_KEY_ARN` | none (AWS-owned encryption) |
        | `sagemaker_role_arn` | `PERSONAKIT_SAGEMAKER_ROLE_ARN` | none (`role_arn` serves) |

        The default region is the boto3 session's (``AWS_DEFAULT_REGION`` or the
        profile's ``region``), then ``AWS_REGION``, then the region of a client
        given in ``clients``. ``config.region_name`` counts as an explicit region;
        it must agree with ``region_name`` when both are given.

        Args:
            boto3_session: the ``boto3.Session`` (profile, credentials) to make
                clients from; a new ``boto3.Session()`` when not given.
            config: your botocore ``Config``; personakit's settings are merged
                into it, yours win (see :func:`merge_config`).
            clients: ready clients by service name (``{"personalize": c}``), used
                as given: no config merge, no region change.
            run_id: the run id for tags; see :class:`Session`.
            tags: extra tags for every resource; see :class:`Session`.
            sagemaker_role_arn: the execution role of SageMaker endpoints; see
                :class:`Session`.
            progress: the live progress of waits: ``True``, ``False``, a shared
                :class:`~personakit.aws.progress.ProgressDisplay`, or ``None`` for
                ``PERSONAKIT_PROGRESS`` (``0``/``off``, ``1``/``on``, ``plain``),
                else on; see :attr:`Session.progress`.

        Raises:
            ConfigurationError: no region anywhere, or a malformed setting.
        """
        import boto3

        if boto3_session is None:
            try:
                boto3_session = boto3.session.Session()
            except Exception as exc:  # botocore ProfileNotFound and friends
                raise ConfigurationError(f"could not create a boto3 session: {exc}") from exc
        config_region = getattr(config, "region_name", None) if config is not None else None
        if region_name and config_region and region_name != config_region:
            raise ConfigurationError(
                f"region_name={region_name!r} contradicts config.region_name={config_region!r}"
            )
        region = (
            region_name
            or config_region
            or _env("region")
            or boto3_session.region_name
            or os.environ.get("AWS_REGION")
            or next(
                (
                    r
                    for s, c in (clients or {}).items()
                    if s != "pricing" and (r := _client_region(c))
                ),
                None,
            )
        )
        if not region:
            regions = ", ".join(boto3_session.get_available_regions("personalize"))
            raise ConfigurationError(_MISSING_REGION.format(regions=regions or "see the AWS docs"))
        for service, client in (clients or {}).items():
            given = _client_region(client)
            if given and given != region and service != "pricing":
                logger.warning(
                    "the %s client you passed is in %s but the session is in %s",
                    service,
                    given,
                    region,
                )
        prefix = _pick(prefix, "prefix")
        return cls(
            Boto3Provider(boto3_session, region_name=region, config=config),
            region=region,
            bucket=_pick(bucket, "bucket"),
            prefix=DEFAULT_PREFIX if prefix is None else prefix,
            role_arn=_pick(role_arn, "role_arn"),
            sagemaker_role_arn=_pick(sagemaker_role_arn, "sagemaker_role_arn"),
            kms_key_arn=_pick(kms_key_arn, "kms_key_arn"),
            run_id=run_id,
            tags=tags,
            clients=clients,
            progress=progress,
        )

    @classmethod
    def local(
        cls,
        path: str | os.PathLike[str] = "./pk-workspace",
        *,
        region_name: str = "us-east-1",
        bucket: str = "personakit-local",
        prefix: str = DEFAULT_PREFIX,
        role_arn: str | None = None,
        sagemaker_role_arn: str | None = None,
        run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        llm_handlers: Mapping[str, Callable[[str, Mapping[str, Any]], str]] | None = None,
        theme_writer: ThemeWriter | None = None,
        timing: Timing | None = None,
        progress: bool | ProgressDisplay | None = None,
        min_state_s: float | None = None,
    ) -> Session:
        """A session on the embedded local engine: offline, free, the same code path.

        Builds a :class:`~personakit.local.LocalEngine` rooted at ``path`` (the
        *workspace*, created if missing), creates ``bucket`` in its S3 twin, and
        hands out the engine's twins of ``personalize``, ``personalize-runtime``,
        ``personalize-events``, ``s3``, ``sagemaker`` and ``sagemaker-runtime``.
        Personalize and S3 state lives in SQLite and files under ``path``: another
        process (or a restarted notebook) opening the same path sees the same
        resources. The session owns the engine: :meth:`close`, or leaving a
        ``with`` block, stops it::

            with pk.Session.local("./pk-workspace") as session:
                with pk.DatasetGroup.create(session, "movies") as group:
                    ...

        No access check is needed (or made): the engine has no IAM. Settings are
        not read from ``PERSONAKIT_*`` environment variables, which describe your
        AWS setup, except ``PERSONAKIT_SAGEMAKER_ROLE_ARN``.

        Args:
            path: The workspace folder.
            region_name: The region in every ARN.
            bucket: The S3-twin bucket for uploads and batch output (made if missing).
            prefix: Key prefix under the bucket.
            role_arn: The role in Personalize requests; the engine's
                :attr:`~personakit.local.LocalEngine.role_arn` when None.
            sagemaker_role_arn: The endpoints' execution role: explicit, else
                ``PERSONAKIT_SAGEMAKER_ROLE_ARN``, else None (then ``role_arn`` serves).
            run_id: The run id for tags; see :class:`Session`.
            tags: Extra tags for every resource; see :class:`Session`.
            llm_handlers: ``{model_id: generate}``: the Python callable that answers
                for each model's SageMaker endpoints, ``generate(prompt, params) ->
                str`` (see :meth:`~personakit.local.LocalEngine.register_model`,
                also for embeddings). An endpoint whose model has none ends
                ``Failed`` with a reason saying so: there is no built-in LLM.
            theme_writer: Names the themes of batch recommendations with themes
                (``batch_recommend(..., themes="TITLE")``): ``writer(request) -> str``
                gets a :class:`~personakit.local.themes.ThemeRequest` (an item and its
                related items with names and descriptions; ``request.prompt`` is ready
                for an LLM). Without one, themes are built from item metadata; see
                :meth:`~personakit.local.LocalEngine.register_theme_writer`.
            timing: Retry and poll settings of the resource classes; by default
                polls start at 0.05 s (the engine's statuses last about that), not
                AWS's seconds.
            progress: The live progress of waits: ``True``, ``False``, a shared
                :class:`~personakit.aws.progress.ProgressDisplay`, or ``None`` for
                ``timing.progress`` when set, else ``PERSONAKIT_PROGRESS``, else on;
                see :attr:`Session.progress`.
            min_state_s: Seconds a resource spends in each status at least (the
                engine's default when None; ``0`` is as fast as possible).

        Raises:
            ConfigurationError: A malformed setting.
        """
        from personakit.local import LocalEngine  # the engine loads numpy/scipy: only here

        options: dict[str, Any] = {} if min_state_s is None else {"min_state_s": min_state_s}
        try:
            engine = LocalEngine(Path(path), region=region_name, **options)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from exc
        try:
            engine.config_for = ClientConfigs.from_environment()  # retries as on AWS
            for model_id, generate in (llm_handlers or {}).items():
                engine.register_model(model_id, generate)
            if theme_writer is not None:
                engine.register_theme_writer(theme_writer)
            engine.ensure_bucket(_check_bucket(bucket))
            return cls(
                engine,
                region=region_name,
                bucket=bucket,
                prefix=prefix,
                role_arn=role_arn if role_arn is not None else engine.role_arn,
                sagemaker_role_arn=_pick(sagemaker_role_arn, "sagemaker_role_arn"),
                run_id=run_id,
                tags=tags,
                timing=timing if timing is not None else _local_timing(),
                on_close=engine.close,
                progress=progress,
            )
        except BaseException:
            engine.close()
            raise

    # ----------------------------------------------------------------- settings

    @property
    def engine(self) -> ClientProvider:
        """The engine clients come from."""
        return self._engine

    @property
    def region(self) -> str:
        """The region every resource lives in."""
        return self._region

    @property
    def bucket(self) -> str | None:
        """The S3 bucket, or None."""
        return self._bucket

    @property
    def prefix(self) -> str:
        """Key prefix under the bucket: ``""`` or ends with ``/``."""
        return self._prefix

    @property
    def role_arn(self) -> str | None:
        """The IAM role Personalize assumes, or None."""
        return self._role_arn

    @property
    def sagemaker_role_arn(self) -> str | None:
        """The execution role of SageMaker endpoints, or None (``role_arn`` serves then).

        Explicit argument, else ``PERSONAKIT_SAGEMAKER_ROLE_ARN``, else None.
        """
        return self._sagemaker_role_arn

    @property
    def timing(self) -> Timing | None:
        """Retry and poll settings for the resource classes (None: their defaults)."""
        return self._timing

    @property
    def progress(self) -> ProgressDisplay:
        """The session's one live progress display: every wait of the session is a
        line on it while it runs (what, phase, status, elapsed, an estimate where one
        exists). A redrawn block in a terminal (with rich, ``personakit[progress]``),
        one output per cell in a notebook, plain lines on stderr otherwise;
        ``progress=False`` or ``PERSONAKIT_PROGRESS=0`` switch it off."""
        return self._progress

    @property
    def kms_key_arn(self) -> str | None:
        """The customer managed KMS key, or None."""
        return self._kms_key_arn

    @property
    def run_id(self) -> str:
        """The ``personakit:run`` tag value of everything this session creates."""
        return self._run_id

    @property
    def workspace(self) -> Path | None:
        """The local engine's workspace folder (:meth:`Session.local`), or None on AWS."""
        path = getattr(self._engine, "path", None)
        return path if isinstance(path, Path) else None

    @property
    def tags(self) -> dict[str, str]:
        """All tags personakit puts on a resource: ``personakit:run`` first, then yours."""
        return {RUN_TAG: self._run_id, **self._user_tags}

    def _tags(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        tags = self.tags
        for key, value in (extra or {}).items():
            if key == RUN_TAG:
                raise ConfigurationError(f"{RUN_TAG!r} is set by the session")
            _check_tag(key, value)
            tags[key] = value
        return tags

    def personalize_tags(self, extra: Mapping[str, str] | None = None) -> list[PersonalizeTag]:
        """Tags in Personalize's shape: ``[{"tagKey": ..., "tagValue": ...}]``."""
        return [{"tagKey": k, "tagValue": v} for k, v in self._tags(extra).items()]

    def sagemaker_tags(self, extra: Mapping[str, str] | None = None) -> list[SageMakerTag]:
        """Tags in SageMaker's (and S3's, IAM's) shape: ``[{"Key": ..., "Value": ...}]``."""
        return [{"Key": k, "Value": v} for k, v in self._tags(extra).items()]

    def sweep_command(self) -> str:
        """The ``personakit sweep`` command that deletes what this session's run left.

        ``--workspace DIR`` on :meth:`Session.local`, ``--region`` on AWS; the bucket
        and a prefix other than the default are named too, so uploads are found.
        """
        workspace = self.workspace
        where = (
            f"--region {self._region}"
            if workspace is None
            else f"--workspace {shlex.quote(str(workspace))}"
        )
        if self._bucket is not None:
            where += f" --bucket {self._bucket}"
        if self._prefix != DEFAULT_PREFIX:
            where += f" --prefix {shlex.quote(self._prefix)}"
        return f"personakit sweep {where} --run-id {self._run_id} --yes"

    def s3_metadata(self) -> dict[str, str]:
        """The user metadata of every object personakit uploads: ``{"personakit-run": run_id}``."""
        return {RUN_METADATA: self._run_id}

    def s3_key(self, *parts: str) -> str:
        """An object key under the prefix: ``s3_key("a", "x.csv")`` is ``"personakit/a/x.csv"``.

        A trailing ``/`` on the last part is kept (a folder, as Personalize imports take).
        """
        clean = [p.strip("/") for p in parts if p.strip("/")]
        key = self._prefix + "/".join(clean)
        if parts and parts[-1].endswith("/") and clean:
            key += "/"
        return key

    def s3_uri(self, *parts: str) -> str:
        """``s3://bucket/prefix/parts...``; raises ConfigurationError without a bucket."""
        if self._bucket is None:
            raise ConfigurationError(
                "no S3 bucket configured: pass Session.aws(bucket='my-bucket') or set "
                "PERSONAKIT_BUCKET (the bucket must be in the session's region, "
                f"{self._region})"
            )
        return f"s3://{self._bucket}/{self.s3_key(*parts)}"

    # ----------------------------------------------------------------- clients

    @staticmethod
    def _check_service(service_name: str) -> None:
        if service_name not in SERVICES:
            raise ConfigurationError(
                f"personakit has no client for {service_name!r}; known: {', '.join(SERVICES)}"
            )

    @overload
    def client(self, service_name: Literal["personalize"]) -> PersonalizeClient: ...
    @overload
    def client(self, service_name: Literal["personalize-runtime"]) -> PersonalizeRuntimeClient: ...
    @overload
    def client(self, service_name: Literal["personalize-events"]) -> PersonalizeEventsClient: ...
    @overload
    def client(self, service_name: Literal["s3"]) -> S3Client: ...
    @overload
    def client(self, service_name: Literal["sagemaker"]) -> SageMakerClient: ...
    @overload
    def client(self, service_name: Literal["sagemaker-runtime"]) -> SageMakerRuntimeClient: ...
    @overload
    def client(self, service_name: Literal["pricing"]) -> PricingClient: ...
    @overload
    def client(self, service_name: Literal["iam"]) -> IAMClient: ...
    @overload
    def client(self, service_name: Literal["sts"]) -> STSClient: ...
    @overload
    def client(self, service_name: Literal["cloudwatch"]) -> CloudWatchClient: ...
    @overload
    def client(self, service_name: Literal["kms"]) -> KMSClient: ...
    def client(self, service_name: ServiceName) -> Any:
        """The session's client for a service: made once, then cached.

        Clients passed as ``clients=`` are returned as given.
        """
        self._check_service(service_name)
        with self._lock:
            client = self._clients.get(service_name)
            if client is None:
                client = self._engine.client(service_name)
                self._clients[service_name] = client
        return client

    @property
    def account_id(self) -> str:
        """The caller's AWS account id (``sts:GetCallerIdentity``, asked once)."""
        if self._account_id is None:
            self._account_id = self.client("sts").get_caller_identity()["Account"]
        return self._account_id

    # ----------------------------------------------------------------- access

    def check_access(self) -> AccessReport:
        """Check, without changing anything, that Personalize can use the bucket, role and key.

        Reads only: ``s3:GetBucketLocation``, ``s3:GetBucketPolicy``,
        ``iam:GetRole``, ``iam:ListAttachedRolePolicies``, ``iam:GetPolicy``,
        ``iam:GetPolicyVersion``, ``iam:ListRolePolicies``, ``iam:GetRolePolicy``,
        ``kms:GetKeyPolicy``, ``sts:GetCallerIdentity``. A check the caller may not
        run becomes a warning, not a crash.

        Policies are read, not simulated (``iam:SimulatePrincipalPolicy`` needs a
        permission most users lack): conditions, permission boundaries and SCPs
        are not evaluated, so ``ok`` means "nothing obviously missing".
        """
        from personakit.aws.access import check_access  # start-up: only when asked

        return check_access(self)

    # ----------------------------------------------------------------- lifecycle

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed

    def close(self) -> None:
        """Release what the session owns (idempotent).

        A :meth:`Session.local` session stops its engine (background threads,
        workspace files; its clients raise
        :class:`~personakit.errors.SessionClosedError` afterwards); on
        :meth:`Session.aws` there is nothing to release. Resources created on the
        session are not touched: their own context managers delete them.
        """
        if self._closed:
            return
        self._closed = True
        if self._owns_progress:
            self._progress.close()
        if self._on_close is not None:
            self._on_close()

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ----------------------------------------------------------------- display

    def _fields(self) -> list[tuple[str, str]]:
        fields = [
            ("engine", str(getattr(self._engine, "name", type(self._engine).__name__))),
            ("region", self._region),
            (
                "bucket",
                f"s3://{self._bucket}/{self._prefix}" if self._bucket else "(none)",
            ),
            ("role_arn", self._role_arn or "(none)"),
        ]
        if self._sagemaker_role_arn:
            fields.append(("sagemaker_role_arn", self._sagemaker_role_arn))
        path = getattr(self._engine, "path", None)
        if path is not None:
            fields.insert(1, ("workspace", str(path)))
        if self._kms_key_arn:
            fields.append(("kms_key_arn", self._kms_key_arn))
        fields.append(("run_id", self._run_id))
        return fields

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._fields())
        return f"Session({inner})"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td><code>{html.escape(v)}</code></td></tr>"
            for k, v in self._fields()
        )
        return f"<table><caption>personakit.Session</caption>{rows}</table>"

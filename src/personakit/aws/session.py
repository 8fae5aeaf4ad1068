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
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args, overload, runtime_checkable

import attrs

from personakit._version import __version__
from personakit.aws import iam as _iam
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

    from personakit.aws.timing import Timing

__all__ = [
    "SERVICES",
    "AccessReport",
    "Boto3Provider",
    "ClientProvider",
    "Finding",
    "ServiceName",
    "Session",
    "merge_config",
    "pricing_region",
]

logger = logging.getLogger(__name__)

ServiceName = Literal[
    "personalize",
    "personalize-runtime",
    "personalize-events",
    "s3",
    "sagemaker",
    "sagemaker-runtime",
    "pricing",
    "iam",
    "sts",
    "cloudwatch",
    "kms",
]
"""The services a :class:`Session` hands out clients for."""

SERVICES: tuple[str, ...] = get_args(ServiceName)

USER_AGENT = f"personakit/{__version__}"
DEFAULT_PREFIX = "personakit/"
DEFAULT_RETRIES: Mapping[str, Any] = {"mode": "standard", "total_max_attempts": 3}
"""botocore retries of the clients whose calls personakit does not retry itself."""
OWN_RETRIES: Mapping[str, Any] = {"mode": "standard", "total_max_attempts": 1}
"""botocore retries of the clients whose every call goes through ``personakit.aws.retry``."""
SELF_RETRIED: frozenset[str] = frozenset(
    {"personalize", "personalize-events", "sagemaker", "pricing", "cloudwatch"}
)
"""Services whose calls personakit wraps in its own retries (``personakit.aws.retry``).

Their clients get :data:`OWN_RETRIES` (one attempt in botocore), so the two layers
do not multiply and quota errors reach personakit's policy at once (``cloudwatch``:
the cost tools read endpoint metrics through personakit's retries). The others
keep botocore's standard retries (:data:`DEFAULT_RETRIES`) and personakit calls
them directly, never through its own retrier: ``personalize-runtime`` and
``sagemaker-runtime`` (latency-bound requests personakit sends once), ``s3``
(boto3's transfer manager uploads parts with botocore's retries; batch input and
output and teardown's deletes are plain calls too), ``iam``, ``sts`` and ``kms``
(read once by ``check_access``).
"""

_ENV = {
    "region": "PERSONAKIT_REGION",
    "bucket": "PERSONAKIT_BUCKET",
    "prefix": "PERSONAKIT_PREFIX",
    "role_arn": "PERSONAKIT_ROLE_ARN",
    "kms_key_arn": "PERSONAKIT_KMS_KEY_ARN",
    "sagemaker_role_arn": "PERSONAKIT_SAGEMAKER_ROLE_ARN",
}
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
_TAG_TEXT = re.compile(r"^[\w\s.:/=+\-@]*$")
_MAX_USER_TAGS = MAX_TAG_KEYS - 1  # one is personakit:run
_DG = "https://docs.aws.amazon.com/personalize/latest/dg/"


# --------------------------------------------------------------------------- engines


@runtime_checkable
class ClientProvider(Protocol):
    """An engine: something that makes one client per service name.

    :class:`Boto3Provider` makes real boto3 clients; the local engine makes twins
    with the same method names and shapes. The :class:`Session` caches what it
    returns (one client per service).
    """

    def client(self, service_name: str) -> Any:
        """A new client for ``service_name`` (one of :data:`SERVICES`)."""
        ...


def pricing_region(region: str) -> str:
    """The region whose AWS Price List endpoint a session in ``region`` should use.

    The Pricing API has endpoints only in ``us-east-1``, ``eu-central-1`` and
    ``ap-south-1`` (``cn-northwest-1`` in China); all serve every region's
    prices. Like the SageMaker Python SDK: Europe and Africa use ``eu-central-1``,
    Asia Pacific uses ``ap-south-1``, everything else ``us-east-1``.
    """
    if region.startswith("cn-"):
        return "cn-northwest-1"
    if region.startswith(("eu-", "af-")):
        return "eu-central-1"
    if region.startswith("ap-"):
        return "ap-south-1"
    return "us-east-1"


def merge_config(
    config: Config | None,
    *,
    set_mode: bool = True,
    set_attempts: bool = True,
    retries: Mapping[str, Any] = DEFAULT_RETRIES,
) -> Config:
    """personakit's botocore ``Config`` merged into the caller's.

    The caller's settings win. personakit only:

    - appends ``personakit/<version>`` to the caller's ``user_agent_extra``
      (never replaces it);
    - sets ``retries`` (by default ``{"mode": "standard", "total_max_attempts": 3}``,
      the AWS SDKs' standard mode: three calls in all; :class:`Boto3Provider`
      passes :data:`OWN_RETRIES` for the services in :data:`SELF_RETRIED`) when the
      caller's ``Config`` has no ``retries``; ``set_mode`` / ``set_attempts`` are
      ``False`` when ``AWS_RETRY_MODE`` / ``AWS_MAX_ATTEMPTS`` or the profile
      already choose them, so those keep working. A caller's ``retries`` dict is
      kept whole.
    """
    from botocore.config import Config

    base = config if config is not None else Config()
    options: dict[str, Any] = {}
    extra: str | None = getattr(base, "user_agent_extra", None)
    if not extra:
        options["user_agent_extra"] = USER_AGENT
    elif "personakit/" not in extra:
        options["user_agent_extra"] = f"{extra} {USER_AGENT}"
    if getattr(base, "retries", None) is None:
        chosen = {
            key: value
            for key, value in retries.items()
            if (key == "mode" and set_mode) or (key == "total_max_attempts" and set_attempts)
        }
        if chosen:
            options["retries"] = chosen
    return base.merge(Config(**options)) if options else base


class Boto3Provider:
    """The AWS engine: real boto3 clients from one ``boto3.Session``.

    Every client gets the caller's ``config`` merged by :func:`merge_config` and
    the session's region, except ``pricing``, which goes to :func:`pricing_region`.
    Clients of :data:`SELF_RETRIED` services get one botocore attempt
    (:data:`OWN_RETRIES`), since personakit retries their calls itself; the others
    get botocore's standard three. A ``retries`` in the caller's ``config`` (or
    ``AWS_RETRY_MODE`` / ``AWS_MAX_ATTEMPTS``, or the profile) wins for every client.
    """

    name = "aws"

    def __init__(
        self,
        boto3_session: boto3.Session,
        *,
        region_name: str,
        config: Config | None = None,
    ) -> None:
        self._boto3 = boto3_session
        self._region = region_name
        set_mode, set_attempts = _retry_unset(boto3_session)
        self._config = merge_config(config, set_mode=set_mode, set_attempts=set_attempts)
        self._own_config = merge_config(
            config, set_mode=set_mode, set_attempts=set_attempts, retries=OWN_RETRIES
        )

    @property
    def boto3_session(self) -> boto3.Session:
        """The boto3 session clients are made from."""
        return self._boto3

    @property
    def config(self) -> Config:
        """The merged botocore ``Config`` of the clients personakit does not retry itself."""
        return self._config

    def config_for(self, service_name: str) -> Config:
        """The merged botocore ``Config`` a client of ``service_name`` gets."""
        return self._own_config if service_name in SELF_RETRIED else self._config

    def client(self, service_name: str) -> Any:
        """A new boto3 client (the :class:`Session` caches it)."""
        region = pricing_region(self._region) if service_name == "pricing" else self._region
        logger.debug("creating %s client in %s", service_name, region)
        config = self.config_for(service_name)
        return self._boto3.client(service_name, region_name=region, config=config)  # type: ignore[call-overload]


def _retry_unset(boto3_session: boto3.Session) -> tuple[bool, bool]:
    """Whether retry mode / max attempts are left unset by env vars and the profile."""
    try:
        profile = boto3_session._session.get_scoped_config()
    except Exception:  # pragma: no cover - a broken profile fails later, with boto3's message
        profile = {}
    mode_set = bool(os.environ.get("AWS_RETRY_MODE") or profile.get("retry_mode"))
    attempts_set = bool(os.environ.get("AWS_MAX_ATTEMPTS") or profile.get("max_attempts"))
    return not mode_set, not attempts_set


# --------------------------------------------------------------------------- settings


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


def _local_timing(progress: bool | None) -> Timing:
    """Polls for the local engine, whose statuses last tens of milliseconds, not minutes."""
    from personakit.aws.timing import Timing

    return Timing(
        poll_s=0.05,
        max_poll_s=0.5,
        train_poll_s=0.05,
        train_max_poll_s=0.5,
        progress=progress,
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
            session (a :class:`~personakit.personalize.base.Timing`) unless given their own.
        on_close: called once by :meth:`close` (e.g. to close an engine the
            session owns).
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
        timing: Timing | None = None,
        progress: bool | None = None,
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
            timing: Retry and poll settings of the resource classes; by default
                polls start at 0.05 s (the engine's statuses last about that), not
                AWS's seconds.
            progress: tqdm bars on waits: ``True``, ``False``, or ``None`` for
                "when stderr is a terminal" (ignored when ``timing`` is given).
            min_state_s: Seconds a resource spends in each status at least (the
                engine's default when None; ``0`` is as fast as possible).

        Raises:
            ConfigurationError: A malformed setting.
        """
        from personakit.local import LocalEngine

        options: dict[str, Any] = {} if min_state_s is None else {"min_state_s": min_state_s}
        try:
            engine = LocalEngine(Path(path), region=region_name, **options)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from exc
        try:
            for model_id, generate in (llm_handlers or {}).items():
                engine.register_model(model_id, generate)
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
                timing=timing if timing is not None else _local_timing(progress),
                on_close=engine.close,
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
    def kms_key_arn(self) -> str | None:
        """The customer managed KMS key, or None."""
        return self._kms_key_arn

    @property
    def run_id(self) -> str:
        """The ``personakit:run`` tag value of everything this session creates."""
        return self._run_id

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
        return _AccessChecker(self).run()

    # ----------------------------------------------------------------- lifecycle

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed

    def close(self) -> None:
        """Release what the session owns (idempotent).

        A :meth:`Session.local` session stops its engine (background threads,
        workspace files; its clients raise ``RuntimeError`` afterwards); on
        :meth:`Session.aws` there is nothing to release. Resources created on the
        session are not touched: their own context managers delete them.
        """
        if self._closed:
            return
        self._closed = True
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


# --------------------------------------------------------------------------- access report

Status = Literal["ok", "error", "warning", "skipped"]
_MARK = {"ok": "✓", "error": "✗", "warning": "!", "skipped": "-"}
_COLOUR = {"ok": "#1a7f37", "error": "#b00020", "warning": "#9a6700", "skipped": "#57606a"}


@attrs.frozen
class Finding:
    """One access check.

    Attributes:
        check: stable identifier, e.g. ``"bucket-region"``; safe to match on.
        status: ``"ok"``, ``"error"`` (Personalize will fail), ``"warning"``
            (might fail, or could not be checked) or ``"skipped"``.
        message: what was found, in words.
        fix: what to do about it.
        policy: the policy document (or statement) the fix asks you to attach.
        docs: the Developer Guide page explaining it.
    """

    check: str
    status: Status
    message: str
    fix: str | None = None
    policy: Mapping[str, Any] | None = attrs.field(default=None, eq=False)
    docs: str | None = None

    def __str__(self) -> str:
        text = f"{_MARK[self.status]} {self.check}: {self.message}"
        if self.fix:
            text += f"\n    fix: {self.fix}"
        if self.policy is not None:
            body = json.dumps(self.policy, indent=2).replace("\n", "\n      ")
            text += f"\n    policy:\n      {body}"
        if self.docs:
            text += f"\n    see: {self.docs}"
        return text


def _finding_tuple(values: Any) -> tuple[Finding, ...]:
    return tuple(values)


@attrs.frozen
class AccessReport:
    """What :meth:`Session.check_access` found. ``ok`` when no check failed."""

    findings: tuple[Finding, ...] = attrs.field(default=(), converter=_finding_tuple)

    @property
    def ok(self) -> bool:
        """True when no finding is an error (warnings allowed)."""
        return not self.errors

    @property
    def errors(self) -> tuple[Finding, ...]:
        """Findings that will make Personalize fail."""
        return tuple(f for f in self.findings if f.status == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        """Findings that might, or could not be checked."""
        return tuple(f for f in self.findings if f.status == "warning")

    def __getitem__(self, check: str) -> Finding:
        """The finding of one check, e.g. ``report["role-trust"]``."""
        for finding in self.findings:
            if finding.check == check:
                return finding
        raise KeyError(check)

    def raise_for_problems(self) -> None:
        """Raise one ConfigurationError listing every error."""
        if self.errors:
            lines = "\n".join(f"  - {f}" for f in self.errors)
            raise ConfigurationError(f"{len(self.errors)} access problem(s):\n{lines}")

    def __str__(self) -> str:
        head = ("access: ok" if self.ok else f"access: {len(self.errors)} problem(s) to fix") + (
            f", {len(self.warnings)} warning(s)" if self.warnings else ""
        )
        return "\n".join([head, *(f"  {f}".replace("\n", "\n  ") for f in self.findings)])

    def _repr_html_(self) -> str:
        rows = []
        for f in self.findings:
            fix = html.escape(f.fix or "")
            if f.policy is not None:
                fix += f"<pre>{html.escape(json.dumps(f.policy, indent=2))}</pre>"
            if f.docs:
                fix += f" <a href='{html.escape(f.docs)}'>docs</a>"
            rows.append(
                "<tr>"
                f"<td style='color:{_COLOUR[f.status]}'>{f.status}</td>"
                f"<td><code>{html.escape(f.check)}</code></td>"
                f"<td>{html.escape(f.message)}</td>"
                f"<td>{fix}</td>"
                "</tr>"
            )
        head = "ok" if self.ok else f"{len(self.errors)} problem(s)"
        return (
            f"<table><caption>personakit access check: {head}</caption>"
            "<tr><th>status</th><th>check</th><th>found</th><th>fix</th></tr>"
            f"{''.join(rows)}</table>"
        )


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}


class _AccessChecker:
    """The checks behind :meth:`Session.check_access`, one method each."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self.findings: list[Finding] = []
        self.part = _iam.partition(session.region)
        self._account: str | Literal[False] | None = False
        self.documents: list[Any] | None = None  # the role's IAM policies, once read
        from botocore.exceptions import ClientError

        self.ClientError = ClientError

    def add(self, check: str, status: Status, message: str, **kw: Any) -> None:
        self.findings.append(Finding(check, status, message, **kw))

    def run(self) -> AccessReport:
        self.bucket()
        self.role()
        self.kms()
        return AccessReport(self.findings)

    # -- helpers

    @property
    def account(self) -> str | None:
        if self._account is False:
            try:
                self._account = self.s.account_id
            except self.ClientError:
                arn = self.s.role_arn
                self._account = arn.split(":")[4] if arn else None
        return self._account

    def _object_arn(self) -> str:
        return f"arn:{self.part}:s3:::{self.s.bucket}/{self.s.prefix}data.csv"

    def _bucket_arn(self) -> str:
        return f"arn:{self.part}:s3:::{self.s.bucket}"

    def _denied(self, check: str, exc: Exception, what: str) -> None:
        self.add(
            check,
            "warning",
            f"could not check {what}: {_code(exc) or type(exc).__name__} ({exc})",
            fix="run check_access() with credentials allowed to read it, or check by hand",
        )

    # -- S3

    def bucket(self) -> None:
        s = self.s
        if s.bucket is None:
            self.add(
                "bucket-configured",
                "error",
                "no S3 bucket is configured; imports and batch jobs need one",
                fix=(
                    "pass Session.aws(bucket='my-bucket') or set PERSONAKIT_BUCKET; the "
                    f"bucket must be in {s.region}"
                ),
            )
            return
        s3 = s.client("s3")
        try:
            location = s3.get_bucket_location(Bucket=s.bucket).get("LocationConstraint")
        except self.ClientError as exc:
            code = _code(exc)
            if code == "NoSuchBucket":
                self.add(
                    "bucket-exists",
                    "error",
                    f"bucket {s.bucket!r} does not exist",
                    fix=(
                        f"create it in {s.region} (s3.create_bucket(Bucket={s.bucket!r}"
                        + (
                            ""
                            if s.region == "us-east-1"
                            else f", CreateBucketConfiguration={{'LocationConstraint': "
                            f"{s.region!r}}}"
                        )
                        + ")) or pass the name of a bucket you own"
                    ),
                )
                return
            self._denied("bucket-exists", exc, f"bucket {s.bucket!r}")
        else:
            bucket_region = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(
                location, location
            )
            if bucket_region != s.region:
                self.add(
                    "bucket-region",
                    "error",
                    f"bucket {s.bucket!r} is in {bucket_region}, but the session is in "
                    f"{s.region}; Personalize only reads buckets in its own region",
                    fix=(
                        f"use a bucket in {s.region}, or work in {bucket_region} with "
                        f"Session.aws(region_name={bucket_region!r}, ...)"
                    ),
                    docs=_DG + "granting-personalize-s3-access.html",
                )
            else:
                self.add("bucket-region", "ok", f"bucket {s.bucket!r} exists in {s.region}")
        self.bucket_policy()

    def bucket_policy(self) -> None:
        s = self.s
        assert s.bucket is not None
        account = self.account
        wanted = (
            _iam.personalize_bucket_policy(s.bucket, s.prefix, account_id=account, region=s.region)
            if account
            else None
        )
        fix = (
            f"add these statements to the bucket policy of {s.bucket!r} "
            "(s3.put_bucket_policy; append to an existing policy rather than replace it)"
        )
        docs = _DG + "granting-personalize-s3-access.html"
        try:
            policy: Any = s.client("s3").get_bucket_policy(Bucket=s.bucket)["Policy"]
        except self.ClientError as exc:
            if _code(exc) == "NoSuchBucketPolicy":
                self.add(
                    "bucket-policy",
                    "error",
                    f"bucket {s.bucket!r} has no bucket policy; Personalize needs one "
                    "allowing personalize.amazonaws.com to read it",
                    fix=fix,
                    policy=wanted,
                    docs=docs,
                )
            else:
                self._denied("bucket-policy", exc, f"the bucket policy of {s.bucket!r}")
            return
        service = _iam.PERSONALIZE_SERVICE_PRINCIPAL
        missing = [
            action
            for action, resource in (
                ("s3:GetObject", self._object_arn()),
                ("s3:ListBucket", self._bucket_arn()),
            )
            if _iam.evaluate([policy], action, resource, service=service) != "allow"
        ]
        where = f"s3://{s.bucket}/{s.prefix}"
        if missing:
            self.add(
                "bucket-policy",
                "error",
                f"the bucket policy does not allow personalize.amazonaws.com "
                f"{' and '.join(missing)} on {where}",
                fix=fix,
                policy=wanted,
                docs=docs,
            )
        elif (
            _iam.evaluate([policy], "s3:PutObject", self._object_arn(), service=service) != "allow"
        ):
            self.add(
                "bucket-policy",
                "warning",
                f"the bucket policy lets Personalize read {where} but not write: imports "
                "work, batch jobs and exports will fail",
                fix=fix + " if you run batch jobs or exports",
                policy=wanted,
                docs=docs,
            )
        else:
            self.add("bucket-policy", "ok", f"the bucket policy lets Personalize use {where}")

    # -- IAM

    def role(self) -> None:
        s = self.s
        account = self.account
        trust = _iam.personalize_trust_policy(account, s.region) if account else None
        if s.role_arn is None:
            self.add(
                "role-configured",
                "error",
                "no IAM role is configured; Personalize assumes one to read your bucket",
                fix=(
                    "create a role with this trust policy, attach "
                    "pk.iam.personalize_role_policy(bucket, prefix), then pass "
                    "Session.aws(role_arn=...) or set PERSONAKIT_ROLE_ARN"
                ),
                policy=trust,
                docs=_DG + "set-up-required-permissions.html",
            )
            return
        iam = s.client("iam")
        name = _iam.role_name(s.role_arn)
        try:
            role = iam.get_role(RoleName=name)["Role"]
        except self.ClientError as exc:
            if _code(exc) == "NoSuchEntity":
                self.add(
                    "role-exists",
                    "error",
                    f"role {name!r} ({s.role_arn}) does not exist",
                    fix=(
                        "create it (iam.create_role) with this trust policy and attach "
                        "pk.iam.personalize_role_policy(bucket, prefix) to it, or pass the "
                        "ARN of an existing role"
                    ),
                    policy=trust,
                    docs=_DG + "set-up-required-permissions.html",
                )
            else:
                self._denied("role-exists", exc, f"role {name!r}")
            return
        self.trust(role.get("AssumeRolePolicyDocument"), trust)
        self.role_policies(name)

    def trust(self, document: Any, trust: Mapping[str, Any] | None) -> None:
        s = self.s
        assert s.role_arn is not None
        service = _iam.PERSONALIZE_SERVICE_PRINCIPAL
        docs = _DG + "cross-service-confused-deputy-prevention.html"
        fix = "replace the role's trust policy (iam.update_assume_role_policy) with this one"
        if _iam.evaluate([document], "sts:AssumeRole", s.role_arn, service=service) != "allow":
            self.add(
                "role-trust",
                "error",
                f"role {s.role_arn} does not trust personalize.amazonaws.com, so "
                "Personalize cannot assume it",
                fix=fix,
                policy=trust,
                docs=docs,
            )
            return
        guarded = any(
            _iam.has_confused_deputy_conditions(st)
            for st in _iam.statements(document)
            if _iam.evaluate([{"Statement": [st]}], "sts:AssumeRole", s.role_arn, service=service)
            == "allow"
        )
        if guarded:
            self.add("role-trust", "ok", "the role trusts personalize.amazonaws.com")
        else:
            self.add(
                "role-trust",
                "warning",
                "the role trusts personalize.amazonaws.com without aws:SourceAccount / "
                "aws:SourceArn conditions (the confused-deputy protection AWS recommends)",
                fix=fix,
                policy=trust,
                docs=docs,
            )

    def _role_documents(self, name: str) -> list[Any]:
        iam = self.s.client("iam")
        documents: list[Any] = []
        for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
            for attached in page["AttachedPolicies"]:
                arn = attached["PolicyArn"]
                version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
                documents.append(
                    iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"][
                        "Document"
                    ]
                )
        for names in iam.get_paginator("list_role_policies").paginate(RoleName=name):
            for policy_name in names["PolicyNames"]:
                documents.append(
                    iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
                )
        return documents

    def role_policies(self, name: str) -> None:
        s = self.s
        try:
            self.documents = self._role_documents(name)
        except self.ClientError as exc:
            self._denied("role-s3-access", exc, f"the policies of role {name!r}")
            return
        if s.bucket is None:
            self.add("role-s3-access", "skipped", "no bucket configured")
            return
        wanted = _iam.personalize_role_policy(s.bucket, s.prefix, s.kms_key_arn, region=s.region)
        fix = f"attach this policy to role {name!r} (iam.put_role_policy)"
        docs = _DG + "granting-personalize-s3-access.html"
        where = f"s3://{s.bucket}/{s.prefix}"
        missing = [
            action
            for action, resource in (
                ("s3:GetObject", self._object_arn()),
                ("s3:ListBucket", self._bucket_arn()),
            )
            if _iam.evaluate(self.documents, action, resource) != "allow"
        ]
        if missing:
            self.add(
                "role-s3-access",
                "error",
                f"role {name!r} is not allowed {' and '.join(missing)} on {where}; imports "
                "fail with 'Insufficient privileges for accessing data in Amazon S3'",
                fix=fix,
                policy=wanted,
                docs=docs,
            )
        elif _iam.evaluate(self.documents, "s3:PutObject", self._object_arn()) != "allow":
            self.add(
                "role-s3-access",
                "warning",
                f"role {name!r} may read {where} but not write: batch jobs and exports will fail",
                fix=fix + " if you run batch jobs or exports",
                policy=wanted,
                docs=docs,
            )
        else:
            self.add("role-s3-access", "ok", f"role {name!r} may read and write {where}")

    # -- KMS

    def kms(self) -> None:
        s = self.s
        key = s.kms_key_arn
        if key is None:
            return
        docs = _DG + "granting-personalize-key-access.html"
        key_region = key.split(":")[3]
        if key_region != s.region:
            self.add(
                "kms-key-region",
                "error",
                f"KMS key {key} is in {key_region}, but the session is in {s.region}; "
                "KMS keys are regional",
                fix=f"create or replicate the key in {s.region} and pass that key's ARN",
                docs=docs,
            )
            return
        try:
            key_policy: Any = s.client("kms").get_key_policy(KeyId=key, PolicyName="default")[
                "Policy"
            ]
        except self.ClientError as exc:
            if _code(exc) == "NotFoundException":
                self.add(
                    "kms-key-policy",
                    "error",
                    f"KMS key {key} does not exist",
                    fix="pass the ARN of an existing key",
                )
            else:
                self._denied("kms-key-policy", exc, f"the key policy of {key}")
            return
        service = _iam.PERSONALIZE_SERVICE_PRINCIPAL
        missing = [
            a
            for a in _iam.KMS_KEY_POLICY_ACTIONS
            if _iam.evaluate([key_policy], a, key, service=service) != "allow"
        ]
        statement = (
            _iam.personalize_key_policy_statement(s.role_arn) if s.role_arn is not None else None
        )
        if missing:
            self.add(
                "kms-key-policy",
                "error",
                f"the key policy of {key} does not allow personalize.amazonaws.com "
                f"{', '.join(missing)}",
                fix="add this statement to the key policy (kms.put_key_policy; keep the "
                "existing statements, in particular the administrators')",
                policy=statement,
                docs=docs,
            )
        else:
            self.add("kms-key-policy", "ok", "the key policy lets Personalize use the key")
        if s.role_arn is None or self.documents is None:
            return
        role_missing = [
            a
            for a in _iam.KMS_ROLE_ACTIONS
            if _iam.evaluate([key_policy], a, key, principal_arns=[s.role_arn]) != "allow"
            and _iam.evaluate(self.documents, a, key) != "allow"
        ]
        if role_missing:
            self.add(
                "kms-role-access",
                "error",
                f"role {s.role_arn} is not allowed {', '.join(role_missing)} on {key} "
                "(neither by the key policy nor by its IAM policies)",
                fix="attach this policy to the role (iam.put_role_policy)",
                policy=(
                    _iam.personalize_role_policy(s.bucket, s.prefix, key, region=s.region)
                    if s.bucket
                    else None
                ),
                docs=docs,
            )
        else:
            self.add("kms-role-access", "ok", "the role may use the key")

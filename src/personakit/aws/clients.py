"""Clients: the one factory of botocore clients, and the retry settings each service gets.

Every AWS call personakit makes goes through a client made here (or by the local
engine, with the same method names and shapes): one config per service, merged
with the caller's (never replacing it), with ``user_agent_extra="personakit/<version>"``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args, runtime_checkable

from personakit._version import __version__
from personakit.errors import CredentialsError

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config

__all__ = [
    "CREDENTIALS_URL",
    "DEFAULT_RETRIES",
    "OWN_RETRIES",
    "SELF_RETRIED",
    "SERVICES",
    "USER_AGENT",
    "Boto3Provider",
    "ClientConfigs",
    "ClientProvider",
    "ServiceName",
    "merge_config",
    "no_credentials",
    "pricing_region",
    "retry_unset",
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


# --------------------------------------------------------------------------- engines

#: boto3's guide to where it looks for credentials, and how to set them.
CREDENTIALS_URL = "https://boto3.amazonaws.com/v1/documentation/api/latest/guide/credentials.html"


def no_credentials(profile: str | None = None, service: str | None = None) -> CredentialsError:
    """The error for a session on AWS that finds no credentials: how to set them."""
    where = f" (profile {profile!r})" if profile else ""
    client = f" for the {service} client" if service else ""
    return CredentialsError(
        f"no AWS credentials found{client}{where}. Set them one of the ways boto3 reads: "
        "export AWS_PROFILE=NAME for a profile in ~/.aws/config, run `aws configure` to "
        "store access keys, or `aws sso login --profile NAME` for IAM Identity Center "
        "(SSO); or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; or pass "
        f"Session.aws(boto3.Session(profile_name=NAME)). See {CREDENTIALS_URL}. "
        "To work offline without an AWS account, use personakit.Session.local(path)."
    )


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
        set_mode, set_attempts = retry_unset(boto3_session)
        self.config_for = ClientConfigs(config, set_mode=set_mode, set_attempts=set_attempts)

    @property
    def boto3_session(self) -> boto3.Session:
        """The boto3 session clients are made from."""
        return self._boto3

    @property
    def config(self) -> Config:
        """The merged botocore ``Config`` of the clients personakit does not retry itself."""
        return self.config_for.config

    def client(self, service_name: str) -> Any:
        """A new boto3 client (the :class:`Session` caches it).

        Raises:
            CredentialsError: the boto3 session finds no credentials (the message says
                how to set them); botocore would raise ``NoCredentialsError`` at the
                first call instead.
        """
        region = pricing_region(self._region) if service_name == "pricing" else self._region
        logger.debug("creating %s client in %s", service_name, region)
        config = self.config_for(service_name)
        if self._boto3.get_credentials() is None:  # botocore would only say so at the first call
            raise no_credentials(self._boto3.profile_name, service_name)
        return self._boto3.client(service_name, region_name=region, config=config)  # type: ignore[call-overload]


class ClientConfigs:
    """The botocore ``Config`` each service's clients get (:func:`merge_config`):
    :data:`OWN_RETRIES` for :data:`SELF_RETRIED` services, botocore's standard
    retries for the others. Call it with a service name.
    """

    def __init__(
        self, config: Config | None = None, *, set_mode: bool = True, set_attempts: bool = True
    ) -> None:
        self.config = merge_config(config, set_mode=set_mode, set_attempts=set_attempts)
        self.own_config = merge_config(
            config, set_mode=set_mode, set_attempts=set_attempts, retries=OWN_RETRIES
        )

    @classmethod
    def from_environment(cls, config: Config | None = None) -> ClientConfigs:
        """As a session without a profile: ``AWS_RETRY_MODE`` / ``AWS_MAX_ATTEMPTS`` win."""
        return cls(
            config,
            set_mode=not os.environ.get("AWS_RETRY_MODE"),
            set_attempts=not os.environ.get("AWS_MAX_ATTEMPTS"),
        )

    def __call__(self, service_name: str) -> Config:
        """The merged botocore ``Config`` a client of ``service_name`` gets."""
        return self.own_config if service_name in SELF_RETRIED else self.config


def retry_unset(boto3_session: boto3.Session) -> tuple[bool, bool]:
    """Whether retry mode / max attempts are left unset by env vars and the profile."""
    try:
        profile = boto3_session._session.get_scoped_config()
    except Exception:  # pragma: no cover - a broken profile fails later, with boto3's message
        profile = {}
    mode_set = bool(os.environ.get("AWS_RETRY_MODE") or profile.get("retry_mode"))
    attempts_set = bool(os.environ.get("AWS_MAX_ATTEMPTS") or profile.get("max_attempts"))
    return not mode_set, not attempts_set


# --------------------------------------------------------------------------- settings

"""IAM and resource policies Amazon Personalize needs, as JSON-serialisable dicts.

Pure (no I/O). Each function returns a policy document you can pass to
``json.dumps`` and then to IAM, S3 or KMS, or paste into the console::

    import json
    import personakit as pk

    trust = pk.iam.personalize_trust_policy("111122223333", region="eu-west-1")
    iam.create_role(RoleName="personakit", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName="personakit",
        PolicyName="personakit-s3",
        PolicyDocument=json.dumps(pk.iam.personalize_role_policy("my-bucket", "personakit/")),
    )
    s3.put_bucket_policy(
        Bucket="my-bucket",
        Policy=json.dumps(
            pk.iam.personalize_bucket_policy("my-bucket", account_id="111122223333",
                                             region="eu-west-1")
        ),
    )

What Personalize needs, from the Amazon Personalize Developer Guide (links below
are ``https://docs.aws.amazon.com/personalize/latest/dg/<page>.html``):

- ``aws-personalize-set-up-permissions``: the steps (service role, user
  permissions with ``iam:PassRole``, confused-deputy trust policy, KMS, S3).
- ``granting-personalize-s3-access``: the service role's IAM policy **and** the
  bucket policy must both allow ``s3:GetObject`` and ``s3:ListBucket`` on the
  bucket and its objects (``s3:PutObject`` too for batch jobs and exports).
  Without them an import fails with "Insufficient privileges for accessing data
  in Amazon S3".
- ``cross-service-confused-deputy-prevention``: trust ``personalize.amazonaws.com``
  with ``aws:SourceAccount`` and ``aws:SourceArn``
  ``arn:aws:personalize:<region>:<account>:*``.
- ``granting-personalize-key-access``: with a customer managed KMS key, the key
  policy must allow ``kms:Decrypt``, ``kms:GenerateDataKey``, ``kms:DescribeKey``,
  ``kms:CreateGrant`` and ``kms:ListGrants`` to the service and to your role; the
  role's IAM policy needs the same actions except ``kms:CreateGrant`` ("only
  required in key policy"); exporting from an encrypted dataset group also needs
  ``kms:GenerateDataKeyWithoutPlaintext`` in the key policy.

The module also holds the small policy evaluator :meth:`personakit.Session.check_access`
uses to read policies it fetched (best effort: conditions are not evaluated).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal
from urllib.parse import unquote

from personakit.errors import ConfigurationError

__all__ = [
    "KMS_KEY_POLICY_ACTIONS",
    "KMS_ROLE_ACTIONS",
    "PERSONALIZE_SERVICE_PRINCIPAL",
    "S3_READ_ACTIONS",
    "S3_WRITE_ACTIONS",
    "PolicyDocument",
    "personalize_bucket_policy",
    "personalize_key_policy_statement",
    "personalize_role_policy",
    "personalize_trust_policy",
]

PolicyDocument = dict[str, Any]
"""A policy document: ``{"Version": "2012-10-17", "Statement": [...]}``."""

PERSONALIZE_SERVICE_PRINCIPAL = "personalize.amazonaws.com"
S3_READ_ACTIONS: tuple[str, ...] = ("s3:GetObject", "s3:ListBucket")
"""What a dataset import job needs."""
S3_WRITE_ACTIONS: tuple[str, ...] = ("s3:PutObject",)
"""What batch inference / batch segment jobs and dataset exports need in addition."""
KMS_ROLE_ACTIONS: tuple[str, ...] = (
    "kms:Decrypt",
    "kms:GenerateDataKey",
    "kms:DescribeKey",
    "kms:ListGrants",
)
"""KMS actions the service role's IAM policy must allow on the key."""
KMS_KEY_POLICY_ACTIONS: tuple[str, ...] = (
    "kms:Decrypt",
    "kms:GenerateDataKey",
    "kms:DescribeKey",
    "kms:CreateGrant",
    "kms:ListGrants",
)
"""KMS actions the key policy must allow to the service and to the role."""

_VERSION = "2012-10-17"
_ACCOUNT = re.compile(r"^\d{12}\Z")
_BUCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{1,253}[A-Za-z0-9]\Z")
_KMS_KEY_ARN = re.compile(r"^arn:aws[a-z\-]*:kms:[a-z0-9\-]+:\d{12}:key/.+\Z")
_ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/.+\Z")


# --------------------------------------------------------------------------- helpers


def partition(region: str | None) -> str:
    """The ARN partition of a region: ``aws``, ``aws-cn`` or ``aws-us-gov``."""
    if region and region.startswith("cn-"):
        return "aws-cn"
    if region and region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _check_bucket(bucket: str) -> str:
    if not isinstance(bucket, str) or not _BUCKET.match(bucket):
        raise ConfigurationError(
            f"{bucket!r} is not an S3 bucket name (letters, digits, '.', '-'); "
            "pass the bucket's name, not an s3:// URI or a path"
        )
    return bucket


def _check_account(account_id: str) -> str:
    if not isinstance(account_id, str) or not _ACCOUNT.match(account_id):
        raise ConfigurationError(
            f"account_id must be a 12-digit AWS account id as a string, got {account_id!r}"
        )
    return account_id


def _check_region(region: str) -> str:
    if not isinstance(region, str) or not re.match(r"^[a-z]{2}(-[a-z]+)+-\d+\Z", region):
        raise ConfigurationError(f"{region!r} is not an AWS region name such as 'eu-west-1'")
    return region


def check_role_arn(role_arn: str) -> str:
    """Return ``role_arn`` if it looks like an IAM role ARN, else raise ConfigurationError."""
    if not isinstance(role_arn, str) or not _ROLE_ARN.match(role_arn):
        raise ConfigurationError(
            f"{role_arn!r} is not an IAM role ARN; expected "
            "'arn:aws:iam::<12-digit account>:role/<name>' (the role's ARN, not its name)"
        )
    return role_arn


def check_kms_key_arn(kms_key_arn: str) -> str:
    """Return ``kms_key_arn`` if it is a KMS key ARN, else raise ConfigurationError.

    Personalize's ``kmsKeyArn`` accepts key ARNs only (pattern
    ``arn:aws.*:kms:.*:[0-9]{12}:key/.*`` in the service model): not key ids nor aliases.
    """
    if not isinstance(kms_key_arn, str) or not _KMS_KEY_ARN.match(kms_key_arn):
        raise ConfigurationError(
            f"{kms_key_arn!r} is not a KMS key ARN; Personalize accepts only "
            "'arn:aws:kms:<region>:<account>:key/<key-id>' (no key ids, no aliases)"
        )
    return kms_key_arn


def role_name(role_arn: str) -> str:
    """The role name in a role ARN (the part after the last ``/``; paths are dropped)."""
    return check_role_arn(role_arn).rsplit("/", 1)[-1]


def _norm_prefix(prefix: str | None) -> str:
    if not prefix:
        return ""
    prefix = prefix.lstrip("/")
    return prefix if prefix.endswith("/") else prefix + "/"


def _object_arn(bucket: str, prefix: str | None, part: str) -> str:
    return f"arn:{part}:s3:::{bucket}/{_norm_prefix(prefix)}*"


def _confused_deputy(account_id: str, region: str | None, part: str) -> dict[str, Any]:
    return {
        "StringEquals": {"aws:SourceAccount": account_id},
        "ArnLike": {"aws:SourceArn": f"arn:{part}:personalize:{region or '*'}:{account_id}:*"},
    }


def _s3_actions(write: bool) -> tuple[list[str], list[str]]:
    """(object actions, bucket actions)."""
    objects = ["s3:GetObject", *(S3_WRITE_ACTIONS if write else ())]
    return objects, ["s3:ListBucket"]


# --------------------------------------------------------------------------- policies


def personalize_role_policy(
    bucket: str,
    prefix: str | None = None,
    kms_key_arn: str | None = None,
    *,
    write: bool = True,
    region: str | None = None,
) -> PolicyDocument:
    """Least-privilege IAM policy for the Personalize service role.

    Attach it to the role you pass as ``role_arn`` (``put_role_policy`` or a
    customer managed policy).

    Args:
        bucket: the bucket personakit uploads to and Personalize reads from.
        prefix: restrict object access to keys under this prefix (e.g.
            ``"personakit/"``). ``s3:ListBucket`` stays on the bucket itself:
            Personalize lists the folder it imports from, and how it scopes that
            listing is not documented, so a ``s3:prefix`` condition could break imports.
        kms_key_arn: a customer managed key used for the dataset group, the bucket
            or job output; adds ``kms:Decrypt``, ``kms:GenerateDataKey``,
            ``kms:DescribeKey`` and ``kms:ListGrants`` on that key
            ([granting-personalize-key-access]; ``kms:CreateGrant`` belongs in the
            key policy only, see :func:`personalize_key_policy_statement`).
        write: include ``s3:PutObject`` (batch inference, batch segment jobs and
            dataset exports write their output there). ``False`` for import-only roles.
        region: only used to pick the ARN partition (``aws-cn``, ``aws-us-gov``).

    Source: Developer Guide, ``granting-personalize-s3-access`` and
    ``granting-personalize-key-access``.
    """
    _check_bucket(bucket)
    if kms_key_arn is not None:
        check_kms_key_arn(kms_key_arn)
    part = kms_key_arn.split(":")[1] if kms_key_arn else partition(region)
    objects, listing = _s3_actions(write)
    statements: list[dict[str, Any]] = [
        {
            "Sid": "PersonakitPersonalizeObjects",
            "Effect": "Allow",
            "Action": objects,
            "Resource": [_object_arn(bucket, prefix, part)],
        },
        {
            "Sid": "PersonakitPersonalizeListBucket",
            "Effect": "Allow",
            "Action": listing,
            "Resource": [f"arn:{part}:s3:::{bucket}"],
        },
    ]
    if kms_key_arn is not None:
        statements.append(
            {
                "Sid": "PersonakitPersonalizeKmsKey",
                "Effect": "Allow",
                "Action": list(KMS_ROLE_ACTIONS),
                "Resource": [kms_key_arn],
            }
        )
    return {"Version": _VERSION, "Statement": statements}


def personalize_trust_policy(account_id: str, region: str | None = None) -> PolicyDocument:
    """Trust policy letting Amazon Personalize assume the service role.

    Carries the confused-deputy conditions the Developer Guide recommends
    (``cross-service-confused-deputy-prevention``): ``aws:SourceAccount`` is your
    account and ``aws:SourceArn`` is ``arn:aws:personalize:<region>:<account>:*``,
    so only Personalize acting for *your* resources can assume the role.

    Args:
        account_id: your 12-digit account id (``session.account_id``).
        region: the region the role is used from; ``None`` allows every region
            (``arn:aws:personalize:*:<account>:*``).
    """
    _check_account(account_id)
    if region is not None:
        _check_region(region)
    part = partition(region)
    return {
        "Version": _VERSION,
        "Statement": [
            {
                "Sid": "PersonakitPersonalizeAssumeRole",
                "Effect": "Allow",
                "Principal": {"Service": PERSONALIZE_SERVICE_PRINCIPAL},
                "Action": "sts:AssumeRole",
                "Condition": _confused_deputy(account_id, region, part),
            }
        ],
    }


def personalize_bucket_policy(
    bucket: str,
    prefix: str | None = None,
    *,
    account_id: str,
    region: str | None = None,
    write: bool = True,
) -> PolicyDocument:
    """Bucket policy giving the Personalize service access to the bucket.

    Personalize needs this **in addition to** the role policy
    (``granting-personalize-s3-access``): principal ``personalize.amazonaws.com``,
    ``s3:GetObject`` and ``s3:ListBucket`` (and ``s3:PutObject`` when ``write``)
    on the bucket and its objects. It is scoped to your account's Personalize
    resources with ``aws:SourceAccount`` / ``aws:SourceArn``
    (``cross-service-confused-deputy-prevention``).

    This is a whole policy: if the bucket already has one, append these
    statements to its ``Statement`` list instead of replacing it.
    """
    _check_bucket(bucket)
    _check_account(account_id)
    if region is not None:
        _check_region(region)
    part = partition(region)
    objects, listing = _s3_actions(write)
    condition = _confused_deputy(account_id, region, part)
    principal = {"Service": PERSONALIZE_SERVICE_PRINCIPAL}
    return {
        "Version": _VERSION,
        "Statement": [
            {
                "Sid": "PersonakitPersonalizeObjects",
                "Effect": "Allow",
                "Principal": principal,
                "Action": objects,
                "Resource": [_object_arn(bucket, prefix, part)],
                "Condition": condition,
            },
            {
                "Sid": "PersonakitPersonalizeListBucket",
                "Effect": "Allow",
                "Principal": principal,
                "Action": listing,
                "Resource": [f"arn:{part}:s3:::{bucket}"],
                "Condition": condition,
            },
        ],
    }


def personalize_key_policy_statement(role_arn: str, *, export: bool = False) -> dict[str, Any]:
    """The statement to add to a KMS key policy so Personalize and your role can use the key.

    Principals: the Personalize service **and** your service role; actions
    ``kms:Decrypt``, ``kms:GenerateDataKey``, ``kms:DescribeKey``,
    ``kms:CreateGrant``, ``kms:ListGrants`` (plus ``kms:GenerateDataKeyWithoutPlaintext``
    when ``export``: exporting from an encrypted dataset group).
    ``"Resource": "*"`` in a key policy means "this key".

    Add it to the key's existing policy (``kms.get_key_policy`` then
    ``kms.put_key_policy``): a key policy without its administrator statement
    can lock you out of the key. Source: ``granting-personalize-key-access``.
    """
    check_role_arn(role_arn)
    actions = list(KMS_KEY_POLICY_ACTIONS)
    if export:
        actions.append("kms:GenerateDataKeyWithoutPlaintext")
    return {
        "Sid": "PersonakitPersonalizeUseOfTheKey",
        "Effect": "Allow",
        "Principal": {"AWS": role_arn, "Service": PERSONALIZE_SERVICE_PRINCIPAL},
        "Action": actions,
        "Resource": "*",
    }


# --------------------------------------------------------------------------- evaluation

Decision = Literal["allow", "deny", "none"]


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _glob(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM wildcard match: ``*`` any run of characters (``/`` included), ``?`` one."""
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    flags = re.IGNORECASE if ignore_case else 0
    return re.fullmatch(regex, value, flags | re.DOTALL) is not None


def statements(document: Mapping[str, Any] | str | None) -> list[dict[str, Any]]:
    """The statements of a policy document given as a dict or as (URL-encoded) JSON."""
    if document is None:
        return []
    if isinstance(document, str):
        text = document if document.lstrip().startswith("{") else unquote(document)
        document = json.loads(text)
    if not isinstance(document, Mapping):
        return []
    return [s for s in _as_list(document.get("Statement")) if isinstance(s, dict)]


def _principal_matches(
    statement: Mapping[str, Any], service: str | None, arns: Sequence[str]
) -> bool:
    if "NotPrincipal" in statement:
        return False  # rare, and never what a Personalize set-up uses
    principal = statement.get("Principal")
    if principal is None:
        return service is None and not arns  # identity policy: no principal element
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    if service is not None and service in _as_list(principal.get("Service")):
        return True
    aws = [str(p) for p in _as_list(principal.get("AWS"))]
    return "*" in aws or any(arn in aws for arn in arns)


def _matches_any(patterns: Iterable[Any], value: str, *, ignore_case: bool) -> bool:
    return any(_glob(str(p), value, ignore_case=ignore_case) for p in patterns)


def _applies(statement: Mapping[str, Any], action: str, resource: str) -> bool:
    if "NotAction" in statement:
        if _matches_any(_as_list(statement["NotAction"]), action, ignore_case=True):
            return False
    elif not _matches_any(_as_list(statement.get("Action")), action, ignore_case=True):
        return False
    if "NotResource" in statement:
        return not _matches_any(_as_list(statement["NotResource"]), resource, ignore_case=False)
    if "Resource" not in statement:
        return True  # trust policies have no Resource
    return _matches_any(_as_list(statement["Resource"]), resource, ignore_case=False)


def evaluate(
    documents: Iterable[Mapping[str, Any] | str | None],
    action: str,
    resource: str,
    *,
    service: str | None = None,
    principal_arns: Sequence[str] = (),
) -> Decision:
    """Does a set of policies allow ``action`` on ``resource``? Best effort.

    ``service``/``principal_arns`` select the statements of resource policies
    (bucket, key and trust policies) that name that principal; leave both unset
    for identity policies. An explicit unconditional ``Deny`` wins; a ``Deny``
    with a ``Condition`` is ignored (a common "deny without TLS" statement must
    not read as "deny Personalize"), and an ``Allow`` with a ``Condition`` is
    counted as an allow (conditions are not evaluated).
    """
    allowed = False
    for document in documents:
        for statement in statements(document):
            if not _principal_matches(statement, service, principal_arns):
                continue
            if not _applies(statement, action, resource):
                continue
            effect = str(statement.get("Effect", "")).lower()
            if effect == "deny" and not statement.get("Condition"):
                return "deny"
            if effect == "allow":
                allowed = True
    return "allow" if allowed else "none"


def has_confused_deputy_conditions(statement: Mapping[str, Any]) -> bool:
    """True when a statement's Condition uses ``aws:SourceAccount`` or ``aws:SourceArn``."""
    condition = statement.get("Condition")
    if not isinstance(condition, Mapping):
        return False
    keys = {
        str(k).lower() for block in condition.values() if isinstance(block, Mapping) for k in block
    }
    return bool(keys & {"aws:sourceaccount", "aws:sourcearn"})

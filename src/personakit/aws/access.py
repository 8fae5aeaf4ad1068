"""``Session.check_access``: can Personalize use the bucket, the role and the key?

Reads only (``s3:GetBucketLocation``, ``iam:GetRole`` ...); a check the caller may
not run becomes a warning, not a crash.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol

import attrs

from personakit.aws import iam as _iam
from personakit.aws.retry import error_code
from personakit.errors import ConfigurationError
from personakit.rules.display import Display, short_repr
from personakit.rules.facts import DG as _DG

if TYPE_CHECKING:
    pass

__all__ = ["AccessReport", "Finding", "Status", "check_access"]


class Checked(Protocol):
    """What the checks read of a session (:class:`~personakit.aws.session.Session` is one)."""

    @property
    def region(self) -> str: ...
    @property
    def bucket(self) -> str | None: ...
    @property
    def prefix(self) -> str: ...
    @property
    def role_arn(self) -> str | None: ...
    @property
    def kms_key_arn(self) -> str | None: ...
    @property
    def account_id(self) -> str: ...
    def client(self, service_name: Any) -> Any: ...


def check_access(session: Checked) -> AccessReport:
    """Run every check on ``session`` (see ``Session.check_access``)."""
    return _AccessChecker(session).run()


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
class AccessReport(Display):
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

    def __repr__(self) -> str:
        return short_repr(self, ok=self.ok, errors=len(self.errors), warnings=len(self.warnings))

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


_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}


class _AccessChecker:
    """The checks behind :meth:`Session.check_access`, one method each."""

    def __init__(self, session: Checked) -> None:
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
            f"could not check {what}: {(error_code(exc) or '') or type(exc).__name__} ({exc})",
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
            code = error_code(exc) or ""
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
            if (error_code(exc) or "") == "NoSuchBucketPolicy":
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
            if (error_code(exc) or "") == "NoSuchEntity":
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
            if (error_code(exc) or "") == "NotFoundException":
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

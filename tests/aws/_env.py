"""The stubbed AWS environment: Stubber on personalize clients, moto for S3.

Kept out of conftest.py so that test modules import it by a name no other
test folder uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import boto3
from _lifecycle import BUCKET, REGION, ROLE, RUN, FakeTime, RequestLog, Script
from botocore.stub import Stubber
from moto import mock_aws

from personakit.aws.session import Session
from personakit.aws.timing import Timing


@attrs.define
class Env:
    session: Session
    timing: Timing
    time: FakeTime
    log: RequestLog
    script: Script
    rt: Script
    personalize: Any
    runtime: Any
    s3: Any
    stubber: Stubber
    rt_stubber: Stubber

    def objects(self) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=BUCKET)
        return [o["Key"] for o in listed.get("Contents", [])]

    def verify(self) -> None:
        self.stubber.assert_no_pending_responses()
        self.rt_stubber.assert_no_pending_responses()


def make_env(*, kms_key_arn: str | None = None, role_arn: str | None = ROLE) -> Iterator[Env]:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        personalize = boto3.client("personalize", region_name=REGION)
        runtime = boto3.client("personalize-runtime", region_name=REGION)
        log = RequestLog()
        log.hook(personalize)
        log.hook(runtime)
        fake = FakeTime(log)
        timing = Timing(sleep=fake.sleep, clock=fake.clock, rng=lambda: 0.5, progress=False)
        session = Session.aws(
            clients={"personalize": personalize, "personalize-runtime": runtime, "s3": s3},
            region_name=REGION,
            bucket=BUCKET,
            role_arn=role_arn,
            kms_key_arn=kms_key_arn,
            run_id=RUN,
        )
        with Stubber(personalize) as stubber, Stubber(runtime) as rt_stubber:
            yield Env(
                session,
                timing,
                fake,
                log,
                Script(stubber),
                Script(rt_stubber),
                personalize,
                runtime,
                s3,
                stubber,
                rt_stubber,
            )

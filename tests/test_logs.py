"""Debug logging keeps credentials out, botocore's request lines included."""

from __future__ import annotations

import io
import logging

import boto3
from moto import mock_aws

from personakit.aws.logs import REDACTED, RedactCredentials, debug_logging

KEY_ID = "AKIAEXAMPLEKEY123456"
TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN0123456789"


def _s3_call() -> None:
    with mock_aws():
        client = boto3.client(
            "s3",
            region_name="us-east-1",
            aws_access_key_id=KEY_ID,
            aws_secret_access_key="not-a-secret-really",
            aws_session_token=TOKEN,
        )
        client.list_buckets()
        client.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})


def test_debug_logging_shows_requests_but_no_credentials() -> None:
    stream = io.StringIO()
    handler = debug_logging(stream=stream)
    try:
        _s3_call()
    finally:
        for name in ("personakit", "botocore", "boto3", "s3transfer", "urllib3"):
            logging.getLogger(name).removeHandler(handler)
            logging.getLogger(name).setLevel(logging.NOTSET)
    text = stream.getvalue()
    assert "Sending http request" in text  # botocore's request lines are there
    assert REDACTED in text
    assert KEY_ID not in text
    assert TOKEN not in text


def test_the_filter_redacts_headers_queries_and_canonical_requests() -> None:
    lines = [
        f"headers={{'Authorization': b'AWS4-HMAC-SHA256 Credential={KEY_ID}/20261206/us-east-1"
        f"/s3/aws4_request, SignedHeaders=host, Signature={'ab' * 32}'}}",
        f"'X-Amz-Security-Token': b'{TOKEN}'",
        f"x-amz-security-token:{TOKEN}",
        f"https://b.s3.amazonaws.com/k?X-Amz-Credential={KEY_ID}%2F2026&X-Amz-Security-Token={TOKEN}&x=1",
    ]
    for line in lines:
        record = logging.LogRecord("botocore", logging.DEBUG, __file__, 1, "%s", (line,), None)
        assert RedactCredentials().filter(record)
        assert KEY_ID not in record.getMessage()
        assert TOKEN not in record.getMessage()
        assert "ab" * 32 not in record.getMessage()
    plain = logging.LogRecord("personakit", logging.INFO, __file__, 1, "import %s", ("done",), None)
    assert RedactCredentials().filter(plain)
    assert plain.getMessage() == "import done"

"""S3 multipart upload on the local engine (S3's rules, parts on disk); bucket policies.

The requests are real boto3 client calls (``engine.client("s3")``); the rules checked
are S3's (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html):
part numbers 1-10,000, parts but the last at least 5 MiB, parts listed in ascending
order with their ETags, the ``"<md5 of the part md5s>-<n>"`` ETag, ``NoSuchUpload``
(404) once an upload is completed or aborted. The last test imports a 65 MiB frame
with ``DatasetGroup.import_frame``, which uploads through boto3's transfer manager
with 64 MiB parts.
"""

from __future__ import annotations

import base64
import hashlib
import os
import resource
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from _local import FAST
from personakit.aws.session import Session
from personakit.local import LocalEngine
from personakit.personalize.group import MULTIPART_BYTES, DatasetGroup
from personakit.rules.schema import DatasetType

MiB = 1024 * 1024
BUCKET = "mp"


@pytest.fixture
def s3(engine: LocalEngine) -> Any:
    client = engine.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def _uploads_dir(engine: LocalEngine) -> Path:
    return engine.store.s3_root / ".pk-uploads"


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response: Any = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def _etag(parts: list[bytes]) -> str:
    digests = b"".join(hashlib.md5(p, usedforsecurity=False).digest() for p in parts)
    return f'"{hashlib.md5(digests, usedforsecurity=False).hexdigest()}-{len(parts)}"'


def test_a_multipart_upload_assembles_the_object(engine: LocalEngine, s3: Any) -> None:
    first, second = os.urandom(5 * MiB), b"tail" * 1000
    created = s3.create_multipart_upload(
        Bucket=BUCKET, Key="a/b.csv", ContentType="text/csv", Metadata={"run": "r1"}
    )
    upload = created["UploadId"]
    assert created["Bucket"] == BUCKET
    assert created["Key"] == "a/b.csv"
    assert created["ServerSideEncryption"] == "AES256"
    assert (_uploads_dir(engine) / upload).is_dir()  # parts go to disk

    one = s3.upload_part(Bucket=BUCKET, Key="a/b.csv", UploadId=upload, PartNumber=1, Body=first)
    assert one["ETag"] == f'"{hashlib.md5(first, usedforsecurity=False).hexdigest()}"'
    two = s3.upload_part(Bucket=BUCKET, Key="a/b.csv", UploadId=upload, PartNumber=2, Body=second)

    listed = s3.list_parts(Bucket=BUCKET, Key="a/b.csv", UploadId=upload)
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in listed["Parts"]] == [
        (1, len(first), one["ETag"]),
        (2, len(second), two["ETag"]),
    ]
    assert listed["IsTruncated"] is False
    page = s3.list_parts(Bucket=BUCKET, Key="a/b.csv", UploadId=upload, MaxParts=1)
    assert [p["PartNumber"] for p in page["Parts"]] == [1]
    assert page["IsTruncated"] is True
    rest = s3.list_parts(
        Bucket=BUCKET,
        Key="a/b.csv",
        UploadId=upload,
        PartNumberMarker=page["NextPartNumberMarker"],
    )
    assert [p["PartNumber"] for p in rest["Parts"]] == [2]
    uploads = s3.list_multipart_uploads(Bucket=BUCKET)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("a/b.csv", upload)]

    done = s3.complete_multipart_upload(
        Bucket=BUCKET,
        Key="a/b.csv",
        UploadId=upload,
        MultipartUpload={
            "Parts": [
                {"PartNumber": 1, "ETag": one["ETag"]},
                {"PartNumber": 2, "ETag": two["ETag"]},
            ]
        },
    )
    assert done["ETag"] == _etag([first, second])
    head = s3.head_object(Bucket=BUCKET, Key="a/b.csv")
    assert head["ETag"] == done["ETag"]
    assert head["ContentLength"] == len(first) + len(second)
    assert head["ContentType"] == "text/csv"
    assert head["Metadata"] == {"run": "r1"}
    body = s3.get_object(Bucket=BUCKET, Key="a/b.csv")["Body"].read()
    assert body == first + second
    assert not (_uploads_dir(engine) / upload).exists()  # cleaned up on complete
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=BUCKET)
    with pytest.raises(ClientError) as exc:
        s3.list_parts(Bucket=BUCKET, Key="a/b.csv", UploadId=upload)
    assert _error(exc) == ("NoSuchUpload", 404)


def test_a_reuploaded_part_replaces_the_first(s3: Any) -> None:
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="k")["UploadId"]
    s3.upload_part(Bucket=BUCKET, Key="k", UploadId=upload, PartNumber=1, Body=b"old")
    new = s3.upload_part(Bucket=BUCKET, Key="k", UploadId=upload, PartNumber=1, Body=b"new!")
    parts = s3.list_parts(Bucket=BUCKET, Key="k", UploadId=upload)["Parts"]
    assert [(p["Size"], p["ETag"]) for p in parts] == [(4, new["ETag"])]
    s3.complete_multipart_upload(
        Bucket=BUCKET,
        Key="k",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": new["ETag"]}]},
    )
    assert s3.get_object(Bucket=BUCKET, Key="k")["Body"].read() == b"new!"


def test_s3s_part_rules(s3: Any) -> None:
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="k")["UploadId"]
    for number in (0, 10_001):
        with pytest.raises(ClientError) as exc:
            s3.upload_part(Bucket=BUCKET, Key="k", UploadId=upload, PartNumber=number, Body=b"x")
        assert _error(exc) == ("InvalidArgument", 400)
    small = s3.upload_part(Bucket=BUCKET, Key="k", UploadId=upload, PartNumber=1, Body=b"small")
    last = s3.upload_part(Bucket=BUCKET, Key="k", UploadId=upload, PartNumber=2, Body=b"last")
    one = {"PartNumber": 1, "ETag": small["ETag"]}
    two = {"PartNumber": 2, "ETag": last["ETag"]}

    def complete(*parts: dict[str, Any]) -> tuple[str, int]:
        with pytest.raises(ClientError) as exc:
            s3.complete_multipart_upload(
                Bucket=BUCKET, Key="k", UploadId=upload, MultipartUpload={"Parts": list(parts)}
            )
        return _error(exc)

    assert complete(one, two) == ("EntityTooSmall", 400)  # part 1 is under 5 MiB
    assert complete(two, one) == ("InvalidPartOrder", 400)
    assert complete({"PartNumber": 1, "ETag": '"' + "0" * 32 + '"'}) == ("InvalidPart", 400)
    assert complete({"PartNumber": 3, "ETag": small["ETag"]}) == ("InvalidPart", 400)
    assert complete() == ("MalformedXML", 400)
    # one part of any size is a whole object; the upload then ends
    s3.complete_multipart_upload(
        Bucket=BUCKET, Key="k", UploadId=upload, MultipartUpload={"Parts": [one]}
    )
    assert s3.get_object(Bucket=BUCKET, Key="k")["Body"].read() == b"small"
    assert complete(one) == ("NoSuchUpload", 404)


def test_unknown_and_aborted_uploads(engine: LocalEngine, s3: Any) -> None:
    for bogus in ("nope", "../../etc", "0" * 64):
        with pytest.raises(ClientError) as exc:
            s3.upload_part(Bucket=BUCKET, Key="k", UploadId=bogus, PartNumber=1, Body=b"x")
        assert _error(exc) == ("NoSuchUpload", 404)
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="k")["UploadId"]
    with pytest.raises(ClientError) as exc:  # an upload belongs to its bucket and key
        s3.upload_part(Bucket=BUCKET, Key="other", UploadId=upload, PartNumber=1, Body=b"x")
    assert _error(exc) == ("NoSuchUpload", 404)
    s3.upload_part(Bucket=BUCKET, Key="k", UploadId=upload, PartNumber=1, Body=b"x" * 1000)
    aborted = s3.abort_multipart_upload(Bucket=BUCKET, Key="k", UploadId=upload)
    assert aborted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert not (_uploads_dir(engine) / upload).exists()  # parts removed on abort
    with pytest.raises(ClientError) as exc:
        s3.abort_multipart_upload(Bucket=BUCKET, Key="k", UploadId=upload)
    assert _error(exc) == ("NoSuchUpload", 404)
    with pytest.raises(s3.exceptions.NoSuchUpload):
        s3.abort_multipart_upload(Bucket=BUCKET, Key="k", UploadId=upload)
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)
    with pytest.raises(ClientError) as exc:
        s3.create_multipart_upload(Bucket="no-such-bucket", Key="k")
    assert _error(exc) == ("NoSuchBucket", 404)


def test_crc32_checksums_per_part_and_composite(s3: Any) -> None:
    first, second = os.urandom(5 * MiB), b"end"
    created = s3.create_multipart_upload(Bucket=BUCKET, Key="c", ChecksumAlgorithm="CRC32")
    assert created["ChecksumAlgorithm"] == "CRC32"
    upload = created["UploadId"]

    def crc(data: bytes) -> bytes:
        return zlib.crc32(data).to_bytes(4, "big")

    parts = []
    for number, data in ((1, first), (2, second)):
        answer = s3.upload_part(
            Bucket=BUCKET,
            Key="c",
            UploadId=upload,
            PartNumber=number,
            Body=data,
            ChecksumAlgorithm="CRC32",
        )
        assert answer["ChecksumCRC32"] == base64.b64encode(crc(data)).decode()
        parts.append(
            {"PartNumber": number, "ETag": answer["ETag"], "ChecksumCRC32": answer["ChecksumCRC32"]}
        )
    done = s3.complete_multipart_upload(
        Bucket=BUCKET, Key="c", UploadId=upload, MultipartUpload={"Parts": parts}
    )
    composite = base64.b64encode(zlib.crc32(crc(first) + crc(second)).to_bytes(4, "big")).decode()
    assert done["ChecksumCRC32"] == f"{composite}-2"
    assert done["ChecksumType"] == "COMPOSITE"


def test_list_multipart_uploads_pages_and_groups(s3: Any) -> None:
    ids = {
        key: s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        for key in ("x/1", "x/2", "y", "z/3")
    }
    seen: list[str] = []
    marker: dict[str, str] = {}
    while True:
        answer = s3.list_multipart_uploads(Bucket=BUCKET, MaxUploads=1, **marker)
        seen += [u["Key"] for u in answer.get("Uploads", [])]
        if not answer["IsTruncated"]:
            break
        marker = {"KeyMarker": answer["NextKeyMarker"]}
        if answer.get("NextUploadIdMarker"):
            marker["UploadIdMarker"] = answer["NextUploadIdMarker"]
    assert seen == ["x/1", "x/2", "y", "z/3"]
    grouped = s3.list_multipart_uploads(Bucket=BUCKET, Delimiter="/")
    assert [u["Key"] for u in grouped["Uploads"]] == ["y"]
    assert [p["Prefix"] for p in grouped["CommonPrefixes"]] == ["x/", "z/"]
    under = s3.list_multipart_uploads(Bucket=BUCKET, Prefix="x/")
    assert [u["UploadId"] for u in under["Uploads"]] == [ids["x/1"], ids["x/2"]]
    paginator = s3.get_paginator("list_multipart_uploads")
    keys = [u["Key"] for p in paginator.paginate(Bucket=BUCKET, MaxUploads=2) for u in p["Uploads"]]
    assert keys == ["x/1", "x/2", "y", "z/3"]


def test_deleting_a_bucket_forgets_its_uploads(engine: LocalEngine, s3: Any) -> None:
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="k")["UploadId"]
    s3.upload_part(Bucket=BUCKET, Key="k", UploadId=upload, PartNumber=1, Body=b"x")
    s3.delete_bucket(Bucket=BUCKET)
    assert not (_uploads_dir(engine) / upload).exists()


def test_upload_file_takes_the_multipart_path_from_the_threshold(
    tmp_path: Path, engine: LocalEngine, s3: Any
) -> None:
    data = os.urandom(11 * MiB + 7)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    calls: list[str] = []
    for op in ("PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"):
        s3.meta.events.register(f"after-call.s3.{op}", lambda op=op, **_: calls.append(op))
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    s3.upload_file(str(path), BUCKET, "big.bin", Config=config)
    assert calls.count("UploadPart") == 3
    assert "PutObject" not in calls
    head = s3.head_object(Bucket=BUCKET, Key="big.bin")
    chunks = [data[i : i + 5 * MiB] for i in range(0, len(data), 5 * MiB)]
    assert head["ETag"] == _etag(chunks)
    assert s3.get_object(Bucket=BUCKET, Key="big.bin")["Body"].read() == data
    calls.clear()
    s3.upload_file(
        str(path), BUCKET, "one.bin", Config=TransferConfig(multipart_threshold=64 * MiB)
    )
    assert calls == ["PutObject"]
    assert not any(_uploads_dir(engine).iterdir())


def _big_items(target: int) -> pd.DataFrame:
    """Items whose CSV is about ``target`` bytes: a textual DESCRIPTION of 19,000 characters."""
    rng = np.random.default_rng(3)
    words = np.array(["river", "stone", "light", "paper", "north", "quiet", "amber", "glass"])
    n = target // 19_000 + 1
    text = [" ".join(rng.choice(words, 3166)) for _ in range(n)]
    return pd.DataFrame(
        {
            "ITEM_ID": [f"item-{i}" for i in range(n)],
            "GENRES": rng.choice(["Horror", "Comedy", "Drama"], n),
            "DESCRIPTION": [t[:19_000] for t in text],
        }
    )


def test_a_65_mib_import_frame_uploads_in_parts(tmp_path: Path) -> None:
    items = _big_items(65 * MiB)
    with LocalEngine(tmp_path / "ws", min_state_s=0.01) as engine:
        session = Session(
            engine,
            region="us-east-1",
            bucket="pk-local",
            role_arn="arn:aws:iam::000000000000:role/pk",
        )
        s3 = session.client("s3")
        s3.create_bucket(Bucket="pk-local")
        parts: list[int] = []
        answered: list[int] = []
        s3.meta.events.register(
            "before-parameter-build.s3.UploadPart",
            lambda params, **_: parts.append(params["PartNumber"]),
        )
        s3.meta.events.register(
            "after-call.s3.UploadPart",
            lambda http_response, **_: answered.append(http_response.status_code),
        )
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with DatasetGroup.create(session, "big", timing=FAST) as group:
            dataset = group.import_frame(items, dataset_type="items")
            job = dataset.imports[-1]
            assert job.csv is not None
            assert job.csv.bytes >= MULTIPART_BYTES
            assert sorted(parts) == [1, 2]  # 64 MiB, then the rest
            assert answered == [200, 200]
            bucket, key = job.source.removeprefix("s3://").split("/", 1)
            head = s3.head_object(Bucket=bucket, Key=key)
            assert head["ETag"].endswith('-2"')
            assert head["ContentLength"] == job.csv.bytes
            assert head["ServerSideEncryption"] == "AES256"
            table = engine.control.group_data(group.arn).table(DatasetType.ITEMS)
            assert table is not None
            assert table.num_rows == len(items)
            imported = dict(
                zip(
                    table.column("ITEM_ID").to_pylist(),
                    table.column("DESCRIPTION").to_pylist(),
                    strict=True,
                )
            )
            for i in (0, len(items) // 2, len(items) - 1):
                assert imported[items["ITEM_ID"][i]] == items["DESCRIPTION"][i]
        assert not any((engine.store.s3_root / ".pk-uploads").iterdir())
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    assert grown < 1024 * 1024  # KiB: the import did not hold a gigabyte


def test_bucket_policies_are_stored_read_and_deleted(s3: Any) -> None:
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_policy(Bucket=BUCKET)
    assert _error(exc) == ("NoSuchBucketPolicy", 404)
    policy = (
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
        '"Principal": {"Service": "personalize.amazonaws.com"}, "Action": "s3:GetObject", '
        '"Resource": "arn:aws:s3:::mp/*"}]}'
    )
    put = s3.put_bucket_policy(Bucket=BUCKET, Policy=policy)
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 200  # the model's (no responseCode)
    assert s3.get_bucket_policy(Bucket=BUCKET)["Policy"] == policy
    for bad in ("not json", "{}"):
        with pytest.raises(ClientError) as exc:
            s3.put_bucket_policy(Bucket=BUCKET, Policy=bad)
        assert _error(exc) == ("MalformedPolicy", 400)
    deleted = s3.delete_bucket_policy(Bucket=BUCKET)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_policy(Bucket=BUCKET)
    assert _error(exc) == ("NoSuchBucketPolicy", 404)
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_policy(Bucket="no-such-bucket")
    assert _error(exc) == ("NoSuchBucket", 404)

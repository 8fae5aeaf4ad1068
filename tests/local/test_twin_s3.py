"""The S3 twin: objects as files under the workspace, boto3's calls and errors."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import boto3
import pytest
from _twin_helpers import BUCKET, Checked, Clients
from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import ClientError
from botocore.response import StreamingBody

from personakit.local import LocalEngine


def test_put_get_head_delete(clients: Clients) -> None:
    s3 = clients.s3
    put = s3.put_object(Bucket=BUCKET, Key="data/a.csv", Body=b"a,b\n1,2\n", ContentType="text/csv")
    digest = hashlib.md5(b"a,b\n1,2\n").hexdigest()
    assert put["ETag"] == f'"{digest}"'
    assert put["ServerSideEncryption"] == "AES256"
    got = s3.get_object(Bucket=BUCKET, Key="data/a.csv")
    assert isinstance(got["Body"], StreamingBody)
    assert got["Body"].read() == b"a,b\n1,2\n"
    assert got["ContentLength"] == 8
    assert got["ContentType"] == "text/csv"
    assert got["ETag"] == put["ETag"]
    assert got["LastModified"].tzinfo is not None
    head = s3.head_object(Bucket=BUCKET, Key="data/a.csv")
    assert head["ContentLength"] == 8
    assert head["ETag"] == put["ETag"]
    ranged = s3.get_object(Bucket=BUCKET, Key="data/a.csv", Range="bytes=0-2")
    assert ranged["Body"].read() == b"a,b"
    assert ranged["ContentRange"] == "bytes 0-2/8"
    # the object is a plain file in the workspace
    path = clients.engine.path / "s3" / BUCKET / "data" / "a.csv"
    assert path.read_bytes() == b"a,b\n1,2\n"
    s3.put_object(Bucket=BUCKET, Key="data/a.csv", Body="replaced")
    assert s3.get_object(Bucket=BUCKET, Key="data/a.csv")["Body"].read() == b"replaced"
    s3.delete_object(Bucket=BUCKET, Key="data/a.csv")
    assert not path.exists()
    assert not path.parent.exists()  # empty "folders" go with their last object
    s3.delete_object(Bucket=BUCKET, Key="data/a.csv")  # deleting twice is fine, like S3


def test_missing_things_raise_s3s_errors(clients: Clients) -> None:
    s3 = clients.s3
    with pytest.raises(s3.exceptions.NoSuchKey) as info:
        s3.get_object(Bucket=BUCKET, Key="nope")
    assert info.value.response["Error"] == {
        "Code": "NoSuchKey",
        "Message": "The specified key does not exist.",
        "Key": "nope",
    }
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as head:
        s3.head_object(Bucket=BUCKET, Key="nope")
    assert head.value.response["Error"] == {"Code": "404", "Message": "Not Found"}
    with pytest.raises(s3.exceptions.NoSuchBucket):
        s3.list_objects_v2(Bucket="no-such-bucket")
    with pytest.raises(ClientError, match=r"\(404\) when calling the HeadBucket"):
        s3.head_bucket(Bucket="no-such-bucket")
    with pytest.raises(s3.exceptions.NoSuchBucket):
        s3.put_object(Bucket="no-such-bucket", Key="k", Body=b"")


def test_buckets(clients: Clients, tmp_path: Path) -> None:
    s3 = clients.s3
    assert s3.head_bucket(Bucket=BUCKET)["BucketRegion"] == "us-east-1"
    assert s3.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] is None
    s3.create_bucket(Bucket=BUCKET)  # us-east-1 answers 200 for a bucket you own
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [BUCKET]
    s3.put_object(Bucket=BUCKET, Key="k", Body=b"x")
    with pytest.raises(ClientError, match="BucketNotEmpty"):
        s3.delete_bucket(Bucket=BUCKET)
    with LocalEngine(tmp_path / "eu", region="eu-west-1") as eu:
        s3eu = Checked(eu.client("s3"))
        with pytest.raises(ClientError, match="IllegalLocationConstraintException"):
            s3eu.create_bucket(Bucket="eu-bucket")
        s3eu.create_bucket(
            Bucket="eu-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        assert s3eu.get_bucket_location(Bucket="eu-bucket")["LocationConstraint"] == "eu-west-1"
        with pytest.raises(s3eu.exceptions.BucketAlreadyOwnedByYou):
            s3eu.create_bucket(
                Bucket="eu-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
            )
        assert eu.ensure_bucket("other") == "other"
        assert eu.ensure_bucket("other") == "other"


def test_list_objects_v2_prefix_delimiter_pages(clients: Clients) -> None:
    s3 = clients.s3
    keys = [
        "a/1.csv",
        "a/2.csv",
        "a/b/3.csv",
        "c/4.csv",
        "top.csv",
        "with space+plus.csv",
        "folder/",
    ]
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=key, Body=key.encode())
    listed = s3.list_objects_v2(Bucket=BUCKET)
    assert [o["Key"] for o in listed["Contents"]] == sorted(keys)
    assert listed["KeyCount"] == len(keys)
    assert listed["IsTruncated"] is False
    by_folder = s3.list_objects_v2(Bucket=BUCKET, Delimiter="/")
    assert [p["Prefix"] for p in by_folder["CommonPrefixes"]] == ["a/", "c/", "folder/"]
    assert [o["Key"] for o in by_folder["Contents"]] == ["top.csv", "with space+plus.csv"]
    inside = s3.list_objects_v2(Bucket=BUCKET, Prefix="a/", Delimiter="/")
    assert [o["Key"] for o in inside["Contents"]] == ["a/1.csv", "a/2.csv"]
    assert [p["Prefix"] for p in inside["CommonPrefixes"]] == ["a/b/"]
    pages = list(
        s3.get_paginator("list_objects_v2").paginate(
            Bucket=BUCKET, Delimiter="/", PaginationConfig={"PageSize": 2}
        )
    )
    assert [p["KeyCount"] for p in pages] == [2, 2, 1]
    flat = [o["Key"] for p in pages for o in p.get("Contents", [])]
    flat += [c["Prefix"] for p in pages for c in p.get("CommonPrefixes", [])]
    assert sorted(flat) == ["a/", "c/", "folder/", "top.csv", "with space+plus.csv"]
    after = s3.list_objects_v2(Bucket=BUCKET, StartAfter="c/4.csv")
    assert [o["Key"] for o in after["Contents"]] == ["folder/", "top.csv", "with space+plus.csv"]
    assert s3.get_object(Bucket=BUCKET, Key="folder/")["Body"].read() == b"folder/"
    deleted = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in keys[:3]]})[
        "Deleted"
    ]
    assert [d["Key"] for d in deleted] == keys[:3]
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="a/")["KeyCount"] == 0


def test_transfer_methods(clients: Clients, tmp_path: Path) -> None:
    s3 = clients.engine.client("s3")
    source = tmp_path / "big.bin"
    payload = bytes(range(256)) * 50_000  # 12.8 MB: streamed, not read at once
    source.write_bytes(payload)
    progress: list[int] = []
    s3.upload_file(
        str(source),
        BUCKET,
        "up/big.bin",
        ExtraArgs={"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/pk"},
        Callback=progress.append,
    )
    assert sum(progress) == len(payload)
    head = s3.head_object(Bucket=BUCKET, Key="up/big.bin")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == "alias/pk"
    target = tmp_path / "down.bin"
    s3.download_file(BUCKET, "up/big.bin", str(target))
    assert target.read_bytes() == payload
    buffer = io.BytesIO()
    s3.upload_fileobj(io.BytesIO(b"hello"), BUCKET, "up/small", ExtraArgs={"ContentType": "x/y"})
    s3.download_fileobj(BUCKET, "up/small", buffer)
    assert buffer.getvalue() == b"hello"
    assert s3.head_object(Bucket=BUCKET, Key="up/small")["ContentType"] == "x/y"
    with pytest.raises(ClientError, match=r"\(404\) when calling the HeadObject"):
        s3.download_file(BUCKET, "up/missing", str(tmp_path / "never"))
    assert not (tmp_path / "never").exists()
    with pytest.raises(S3UploadFailedError, match="NoSuchBucket"):
        s3.upload_file(str(source), "no-such-bucket", "k")
    real = boto3.client("s3", region_name="us-east-1")
    with pytest.raises(ValueError, match="Invalid extra_args key 'Nope'") as ours:
        s3.upload_file(str(source), BUCKET, "k", ExtraArgs={"Nope": 1})
    with pytest.raises(ValueError, match="Invalid extra_args") as theirs:
        real.upload_file(str(source), BUCKET, "k", ExtraArgs={"Nope": 1})
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError, match="Fileobj must implement read"):
        s3.upload_fileobj("not a file", BUCKET, "k")


def test_put_object_from_a_file_object_and_odd_keys(clients: Clients) -> None:
    s3 = clients.s3
    odd = ["x/../y", "a//b", ".pk-keys/z", "a"]  # "a" after "a//b" makes a file/folder clash
    for key in odd:
        s3.put_object(Bucket=BUCKET, Key=key, Body=io.BytesIO(key.encode()))
    for key in odd:
        assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == key.encode()
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == sorted(odd)
    escaped = clients.engine.path / "s3" / "y"
    assert not escaped.exists()  # ".." never leaves the bucket folder

"""The S3 twin: buckets as folders under ``<workspace>/s3/<bucket>/``.

Objects are plain files (``s3://data/in/ratings.csv`` is
``<workspace>/s3/data/in/ratings.csv``) indexed in the engine's SQLite database
(size, ETag, content type, encryption, metadata), which is the source of truth for
what exists. Keys that cannot be a path (ending in ``/``, empty or ``..`` segments,
a file where a folder is needed) are stored under ``.pk-keys/<sha256>`` instead.
Writes go to a temporary file that is renamed into place, then indexed in one
transaction.

Implemented: CreateBucket, HeadBucket, GetBucketLocation, ListBuckets,
DeleteBucket, PutObject, GetObject (with ``Range``), HeadObject, ListObjectsV2
(``Prefix``, ``Delimiter``, ``StartAfter``, pagination), DeleteObject,
DeleteObjects, Put/Get/DeleteBucketPolicy (stored, not enforced), multipart upload
(CreateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload,
ListParts, ListMultipartUploads: :mod:`personakit.local.s3_multipart`). Clients are
boto3's own, so ``upload_file`` and friends are s3transfer's transfer manager,
multipart from ``multipart_threshold`` on, as against S3.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import suppress
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote_plus

from botocore.response import StreamingBody

from personakit.local.s3_multipart import MultipartOps, Uploads
from personakit.local.twin import Host, TwinError

if TYPE_CHECKING:
    from personakit.local.store import Store

__all__ = ["S3Objects", "S3Twin"]

_CHUNK = 1024 * 1024
_IN_MEMORY = 8 * 1024 * 1024
_HASHED = ".pk-keys"
_POLICIES = ".pk-policies"  # bucket names cannot start with "."
_WINDOWS_BAD = set('<>:"|?*\\')


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


class S3Objects:
    """The S3 data model over the store: buckets, object index and files."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.root = store.s3_root

    # ------------------------------------------------------------------ buckets
    def bucket(self, name: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = (
            self.store.conn().execute("SELECT * FROM s3_buckets WHERE name = ?", (name,)).fetchone()
        )
        return row

    def require_bucket(self, name: str) -> sqlite3.Row:
        row = self.bucket(name)
        if row is None:
            raise TwinError(
                "NoSuchBucket",
                "The specified bucket does not exist",
                status=404,
                extra={"BucketName": name},
            )
        return row

    def create_bucket(self, name: str, region: str) -> bool:
        """Create a bucket; False if it already existed."""
        try:
            with self.store.tx() as c:
                c.execute(
                    "INSERT INTO s3_buckets (name, region, created) VALUES (?, ?, ?)",
                    (name, region, time.time()),
                )
        except sqlite3.IntegrityError:
            return False
        (self.root / name).mkdir(parents=True, exist_ok=True)
        return True

    # ------------------------------------------------------------------ objects
    def get(self, bucket: str, key: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = (
            self.store.conn()
            .execute("SELECT * FROM s3_objects WHERE bucket = ? AND key = ?", (bucket, key))
            .fetchone()
        )
        return row

    def path_of(self, row: sqlite3.Row) -> Path:
        return Path(self.root, str(row["bucket"]), str(row["path"]))

    def keys(self, bucket: str, prefix: str = "") -> list[sqlite3.Row]:
        """Objects whose key starts with ``prefix``, in S3's (UTF-8 byte) order."""
        rows = self.store.conn().execute(
            "SELECT * FROM s3_objects WHERE bucket = ? AND substr(key, 1, ?) = ? ORDER BY key",
            (bucket, len(prefix), prefix),
        )
        return list(rows.fetchall())

    def _relative_path(self, bucket: str, key: str) -> str:
        parts = key.split("/")
        hashed = (
            key.endswith("/")
            or any(p in ("", ".", "..") or p.startswith(".pk-") or ".tmp-" in p for p in parts)
            or "\x00" in key
            or any(len(p.encode()) > 200 for p in parts)
            or (os.name == "nt" and any(ch in _WINDOWS_BAD for ch in key))
        )
        if not hashed:
            base = self.root / bucket
            target = base.joinpath(*parts)
            if target.is_dir():
                hashed = True
            else:
                parent = target.parent
                while parent != base:
                    if parent.exists() and not parent.is_dir():
                        hashed = True
                        break
                    parent = parent.parent
        if hashed:
            return f"{_HASHED}/{hashlib.sha256(key.encode()).hexdigest()}"
        return "/".join(parts)

    def put(
        self,
        bucket: str,
        key: str,
        body: IO[bytes] | None,
        *,
        content_type: str | None = None,
        sse: str | None = None,
        kms_key: str | None = None,
        metadata: dict[str, str] | None = None,
        etag: str | None = None,
    ) -> sqlite3.Row:
        """Store an object (temporary file, rename, index) and return its index row.

        ``etag`` replaces the MD5 of the content (a multipart upload's ``"<md5>-<n>"``).
        """
        self.require_bucket(bucket)
        existing = self.get(bucket, key)
        rel = existing["path"] if existing is not None else self._relative_path(bucket, key)
        final = self.root / bucket / rel
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.store.tmp_path(final)
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        try:
            with tmp.open("wb") as out:
                while body is not None:
                    chunk = body.read(_CHUNK)
                    if not chunk:
                        break
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            with self.store.tx() as c:
                os.replace(tmp, final)
                c.execute(
                    "INSERT INTO s3_objects (bucket, key, path, size, etag, last_modified,"
                    " content_type, sse, kms_key, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (bucket, key) DO UPDATE SET path = excluded.path,"
                    " size = excluded.size, etag = excluded.etag,"
                    " last_modified = excluded.last_modified,"
                    " content_type = excluded.content_type, sse = excluded.sse,"
                    " kms_key = excluded.kms_key, metadata = excluded.metadata",
                    (
                        bucket,
                        key,
                        rel,
                        size,
                        etag or f'"{digest.hexdigest()}"',
                        time.time(),
                        content_type or "binary/octet-stream",
                        sse,
                        kms_key,
                        json.dumps(metadata or {}),
                    ),
                )
        finally:
            with suppress(OSError):
                tmp.unlink()
        row = self.get(bucket, key)
        assert row is not None
        return row

    def delete(self, bucket: str, key: str) -> None:
        row = self.get(bucket, key)
        if row is None:
            return
        path = self.path_of(row)
        with self.store.tx() as c:
            c.execute("DELETE FROM s3_objects WHERE bucket = ? AND key = ?", (bucket, key))
            with suppress(OSError):
                path.unlink()
        base = self.root / bucket
        parent = path.parent
        while parent != base and base in parent.parents:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def open(self, row: sqlite3.Row) -> IO[bytes]:
        return self.path_of(row).open("rb")


# --------------------------------------------------------------------------- the twin


class S3Twin(MultipartOps):
    """Offline twin of ``boto3.client("s3")``; see the module docstring."""

    service_name = "s3"
    check_constraints = False
    _objects: S3Objects

    def __init__(self, engine: Host, *, region_name: str | None = None) -> None:
        super().__init__(engine, region_name=region_name)
        self._objects = S3Objects(engine.store)

    # ------------------------------------------------------------------ buckets
    def _op_CreateBucket(self, p: dict[str, Any]) -> dict[str, Any]:
        name = p["Bucket"]
        region = self.region_name or "us-east-1"
        wanted = (p.get("CreateBucketConfiguration") or {}).get("LocationConstraint")
        if wanted is None and region != "us-east-1":
            raise TwinError(
                "IllegalLocationConstraintException",
                "The unspecified location constraint is incompatible for the region specific "
                "endpoint this request was sent to.",
            )
        if wanted is not None and wanted == "us-east-1":
            raise TwinError(
                "InvalidLocationConstraint", "The specified location-constraint is not valid"
            )
        if wanted is not None and wanted != region:
            raise TwinError(
                "IllegalLocationConstraintException",
                f"The {wanted} location constraint is incompatible for the region specific "
                "endpoint this request was sent to.",
            )
        created = self._objects.create_bucket(name, wanted or "us-east-1")
        if not created:
            existing = self._objects.require_bucket(name)
            if region != "us-east-1" or existing["region"] != "us-east-1":
                raise TwinError(
                    "BucketAlreadyOwnedByYou",
                    "Your previous request to create the named bucket succeeded and you already "
                    "own it.",
                    status=409,
                    extra={"BucketName": name},
                )
        location = f"/{name}" if region == "us-east-1" else f"http://{name}.s3.amazonaws.com/"
        return {
            "Location": location,
            "ResponseMetadata": {"HTTPHeaders": {"location": location}},
        }

    def _op_HeadBucket(self, p: dict[str, Any]) -> dict[str, Any]:
        row = self._objects.bucket(p["Bucket"])
        if row is None:
            raise TwinError("404", "Not Found", status=404)
        return {
            "BucketRegion": row["region"],
            "AccessPointAlias": False,
            "ResponseMetadata": {
                "HTTPHeaders": {
                    "x-amz-bucket-region": row["region"],
                    "x-amz-access-point-alias": "false",
                }
            },
        }

    def _op_GetBucketLocation(self, p: dict[str, Any]) -> dict[str, Any]:
        row = self._objects.require_bucket(p["Bucket"])
        region = row["region"]
        return {"LocationConstraint": None if region == "us-east-1" else region}

    def _op_ListBuckets(self, p: dict[str, Any]) -> dict[str, Any]:
        rows = self._engine.store.conn().execute("SELECT * FROM s3_buckets ORDER BY name")
        prefix = p.get("Prefix") or ""
        buckets = [
            {"Name": r["name"], "CreationDate": _utc(r["created"]), "BucketRegion": r["region"]}
            for r in rows.fetchall()
            if r["name"].startswith(prefix)
            and (not p.get("BucketRegion") or r["region"] == p["BucketRegion"])
        ]
        out: dict[str, Any] = {
            "Buckets": buckets,
            "Owner": {"ID": hashlib.sha256(self._engine.account_id.encode()).hexdigest()},
        }
        if prefix:
            out["Prefix"] = prefix
        return out

    def _op_DeleteBucket(self, p: dict[str, Any]) -> dict[str, Any]:
        name = p["Bucket"]
        self._objects.require_bucket(name)
        store = self._engine.store
        with store.tx() as c:
            if c.execute("SELECT 1 FROM s3_objects WHERE bucket = ? LIMIT 1", (name,)).fetchone():
                raise TwinError(
                    "BucketNotEmpty",
                    "The bucket you tried to delete is not empty",
                    status=409,
                    extra={"BucketName": name},
                )
            c.execute("DELETE FROM s3_buckets WHERE name = ?", (name,))

        shutil.rmtree(self._objects.root / name, ignore_errors=True)
        Uploads(store).remove_bucket(name)
        with suppress(OSError):
            self._policy_path(name).unlink()
        return {}

    # ------------------------------------------------------------------ bucket policies
    def _policy_path(self, bucket: str) -> Path:
        return self._objects.root / _POLICIES / f"{bucket}.json"

    def _op_PutBucketPolicy(self, p: dict[str, Any]) -> dict[str, Any]:
        """Store a bucket policy (a JSON object with ``Statement``; ``MalformedPolicy``
        else: https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html).
        The engine checks no access with it; ``Session.check_access`` reads it back."""
        self._objects.require_bucket(p["Bucket"])
        text = str(p["Policy"])
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if not isinstance(document, dict) or not document.get("Statement"):
            raise TwinError(
                "MalformedPolicy",
                "Policies must be valid JSON and the first byte must be '{'"
                if not isinstance(document, dict)
                else "Missing required field Statement",
            )
        self._engine.store.write_bytes(self._policy_path(p["Bucket"]), text.encode())
        return {}

    def _op_GetBucketPolicy(self, p: dict[str, Any]) -> dict[str, Any]:
        self._objects.require_bucket(p["Bucket"])
        try:
            text = self._policy_path(p["Bucket"]).read_text()
        except OSError:
            raise TwinError(
                "NoSuchBucketPolicy",
                "The bucket policy does not exist",
                status=404,
                extra={"BucketName": p["Bucket"]},
            ) from None
        return {"Policy": text}

    def _op_DeleteBucketPolicy(self, p: dict[str, Any]) -> dict[str, Any]:
        self._objects.require_bucket(p["Bucket"])
        with suppress(OSError):
            self._policy_path(p["Bucket"]).unlink()
        return {}

    # ------------------------------------------------------------------ objects
    def _op_PutObject(self, p: dict[str, Any]) -> dict[str, Any]:
        sse = p.get("ServerSideEncryption") or "AES256"
        kms = p.get("SSEKMSKeyId")
        if sse.startswith("aws:kms") and not kms:
            kms = f"arn:aws:kms:{self.region_name}:{self._engine.account_id}:alias/aws/s3"
        row = self._objects.put(
            p["Bucket"],
            p["Key"],
            p.get("Body"),
            content_type=p.get("ContentType"),
            sse=sse,
            kms_key=kms if sse.startswith("aws:kms") else None,
            metadata=p.get("Metadata"),
        )
        out: dict[str, Any] = {"ETag": row["etag"], "ServerSideEncryption": sse}
        if row["kms_key"]:
            out["SSEKMSKeyId"] = row["kms_key"]
        return out

    def _object_fields(self, row: sqlite3.Row) -> dict[str, Any]:
        out: dict[str, Any] = {
            "AcceptRanges": "bytes",
            "LastModified": _utc(int(row["last_modified"])),
            "ContentLength": row["size"],
            "ETag": row["etag"],
            "ContentType": row["content_type"],
            "Metadata": json.loads(row["metadata"]),
        }
        if row["sse"]:
            out["ServerSideEncryption"] = row["sse"]
        if row["kms_key"]:
            out["SSEKMSKeyId"] = row["kms_key"]
        return out

    def _require_object(self, bucket: str, key: str, *, head: bool = False) -> sqlite3.Row:
        if head:
            if self._objects.bucket(bucket) is None:
                raise TwinError("404", "Not Found", status=404)
        else:
            self._objects.require_bucket(bucket)
        row = self._objects.get(bucket, key)
        if row is None:
            if head:
                raise TwinError("404", "Not Found", status=404)
            raise TwinError(
                "NoSuchKey", "The specified key does not exist.", status=404, extra={"Key": key}
            )
        return row

    def _op_HeadObject(self, p: dict[str, Any]) -> dict[str, Any]:
        row = self._require_object(p["Bucket"], p["Key"], head=True)
        return self._object_fields(row)

    def _op_GetObject(self, p: dict[str, Any]) -> dict[str, Any]:
        row = self._require_object(p["Bucket"], p["Key"])
        out = self._object_fields(row)
        size = int(row["size"])
        start, end = 0, size - 1
        ranged = p.get("Range")
        if ranged:
            match = re.fullmatch(r"bytes=(\d*)-(\d*)", ranged.strip())
            if match is None or (not match.group(1) and not match.group(2)):
                raise TwinError("InvalidArgument", "Invalid Argument")
            if match.group(1):
                start = int(match.group(1))
                end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
            else:
                start = max(0, size - int(match.group(2)))
            if start >= size or start > end:
                raise TwinError(
                    "InvalidRange",
                    "The requested range is not satisfiable",
                    status=416,
                    extra={"RangeRequested": ranged, "ActualObjectSize": str(size)},
                )
        length = max(0, end - start + 1)
        fh = self._objects.open(row)
        stream: Any
        if length <= _IN_MEMORY:
            with fh:
                fh.seek(start)
                stream = io.BytesIO(fh.read(length))
        else:
            fh.seek(start)
            stream = _Limited(fh, length)
        out["Body"] = StreamingBody(stream, length)
        out["ContentLength"] = length
        if ranged:
            out["ContentRange"] = f"bytes {start}-{end}/{size}"
            out["ResponseMetadata"] = {"HTTPStatusCode": 206}
        return out

    def _op_DeleteObject(self, p: dict[str, Any]) -> dict[str, Any]:
        self._objects.require_bucket(p["Bucket"])
        self._objects.delete(p["Bucket"], p["Key"])
        return {}

    def _op_DeleteObjects(self, p: dict[str, Any]) -> dict[str, Any]:
        self._objects.require_bucket(p["Bucket"])
        deleted = []
        for obj in p["Delete"]["Objects"]:
            self._objects.delete(p["Bucket"], obj["Key"])
            deleted.append({"Key": obj["Key"]})
        return {} if p["Delete"].get("Quiet") else {"Deleted": deleted}

    def _op_ListObjectsV2(self, p: dict[str, Any]) -> dict[str, Any]:
        bucket = p["Bucket"]
        self._objects.require_bucket(bucket)
        prefix = p.get("Prefix") or ""
        delimiter = p.get("Delimiter") or ""
        max_keys = p.get("MaxKeys", 1000)
        max_keys = 1000 if max_keys is None else max(0, min(int(max_keys), 1000))
        marker = p.get("StartAfter") or ""
        rolled = ""  # a common prefix already returned: skip every key under it
        token = p.get("ContinuationToken")
        if token:
            try:
                decoded = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
                marker = str(decoded["k"])
                rolled = marker if decoded.get("p") else ""
            except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError):
                raise TwinError(
                    "InvalidArgument", "The continuation token provided is incorrect"
                ) from None
        contents: list[dict[str, Any]] = []
        prefixes: list[str] = []
        truncated = False
        last = ""
        last_rolled = False
        for row in self._objects.keys(bucket, prefix):
            key: str = row["key"]
            if (marker and key <= marker) or (rolled and key.startswith(rolled)):
                continue
            common = None
            if delimiter:
                idx = key.find(delimiter, len(prefix))
                if idx >= 0:
                    common = key[: idx + len(delimiter)]
            if common is not None and prefixes and prefixes[-1] == common:
                continue
            if len(contents) + len(prefixes) >= max_keys:
                truncated = True
                break
            if common is not None:
                prefixes.append(common)
                last, last_rolled = common, True
            else:
                contents.append(
                    {
                        "Key": key,
                        "LastModified": _utc(round(row["last_modified"], 3)),
                        "ETag": row["etag"],
                        "Size": row["size"],
                        "StorageClass": "STANDARD",
                    }
                )
                last, last_rolled = key, False
        url = p.get("EncodingType") == "url"

        def enc(value: str) -> str:
            return quote_plus(value, safe="/") if url else value

        out: dict[str, Any] = {
            "IsTruncated": truncated,
            "Name": bucket,
            "Prefix": enc(prefix),
            "MaxKeys": max_keys,
            "KeyCount": len(contents) + len(prefixes),
        }
        if contents:
            out["Contents"] = [{**c, "Key": enc(c["Key"])} for c in contents]
        if prefixes:
            out["CommonPrefixes"] = [{"Prefix": enc(x)} for x in prefixes]
        if delimiter:
            out["Delimiter"] = enc(delimiter)
        if url:
            out["EncodingType"] = "url"
        if token:
            out["ContinuationToken"] = token
        if p.get("StartAfter"):
            out["StartAfter"] = enc(p["StartAfter"])
        if truncated:
            raw = json.dumps({"k": last, "p": last_rolled}).encode()
            out["NextContinuationToken"] = base64.urlsafe_b64encode(raw).decode()
        return out


class _Limited(io.RawIOBase):
    """At most ``length`` bytes of a file, closing it with the stream."""

    def __init__(self, inner: IO[bytes], length: int) -> None:
        super().__init__()
        self._inner = inner
        self._left = length

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        want = self._left if size is None or size < 0 else min(size, self._left)
        data = self._inner.read(want)
        self._left -= len(data)
        return data

    def close(self) -> None:
        with suppress(OSError):
            self._inner.close()
        super().close()

    def __iter__(self) -> Iterator[bytes]:
        while True:
            chunk = self.read(_CHUNK)
            if not chunk:
                return
            yield chunk

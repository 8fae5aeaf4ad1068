"""S3 multipart upload on the local engine: what boto3's transfer manager sends for big files.

boto3's ``upload_file`` switches to multipart upload at ``multipart_threshold`` (8 MiB by
default; personakit's dataset uploads use 64 MiB parts): ``CreateMultipartUpload``, one
``UploadPart`` per part from several threads, then ``CompleteMultipartUpload`` (or
``AbortMultipartUpload`` when a part fails). The engine follows S3's rules
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html):

* part numbers 1 to 10,000 (``InvalidArgument``); re-uploading a part number replaces it;
* on completion the parts listed must be in ascending order (``InvalidPartOrder``),
  exist with the ETag given (``InvalidPart``), and each but the last be at least 5 MiB
  (``EntityTooSmall``); an empty list is ``MalformedXML``;
* the object's ETag is the MD5 of the parts' binary MD5s, then ``-<number of parts>``
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html);
* with a ``ChecksumAlgorithm`` (botocore asks for CRC32 by default), each part's checksum
  is computed (CRC32, SHA1, SHA256; others are taken as sent) and checked against the
  one sent, and the object gets the composite checksum ``<checksum of the part
  checksums>-<parts>`` (``ChecksumType`` ``COMPOSITE``);
* an unknown, completed or aborted upload id is ``NoSuchUpload`` (HTTP 404).

Parts are files on disk, never held in memory: each upload is a folder
``<workspace>/s3/.pk-uploads/<upload id>/`` (``upload.json`` and one ``part-NNNNN`` file
with its ``part-NNNNN.json`` per part), written through temporary files renamed into
place; completing streams the parts into the object and removes the folder, as aborting
does. ``ListParts`` and ``ListMultipartUploads`` read the folders. Error codes and
statuses are S3's (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import itertools
import json
import os
import re
import secrets
import shutil
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final, Protocol, cast

from personakit.local.twin import EngineTwin, TwinError

if TYPE_CHECKING:
    import sqlite3

    from personakit.local.store import Store

__all__ = ["MAX_PARTS", "MIN_PART_BYTES", "MultipartOps", "Objects", "Uploads"]

#: Part numbers run from 1 to this (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html).
MAX_PARTS: Final = 10_000
#: Every part but the last must be at least this big (5 MiB).
MIN_PART_BYTES: Final = 5 * 1024 * 1024

_CHUNK = 1024 * 1024
_UPLOADS = ".pk-uploads"
_UPLOAD_ID = re.compile(r"[0-9a-f]{64}")
_NO_SUCH_UPLOAD = (
    "The specified upload does not exist. The upload ID may be invalid, or the upload may "
    "have been aborted or completed."
)


class _Crc32:
    """``zlib.crc32`` behind hashlib's interface (S3's CRC32 checksum, big-endian)."""

    def __init__(self) -> None:
        self._value = 0

    def update(self, data: bytes) -> None:
        self._value = zlib.crc32(data, self._value)

    def digest(self) -> bytes:
        return (self._value & 0xFFFFFFFF).to_bytes(4, "big")


_HASHERS: Final[dict[str, Callable[[], Any]]] = {
    "CRC32": _Crc32,
    "SHA1": lambda: hashlib.sha1(usedforsecurity=False),
    "SHA256": hashlib.sha256,
}


def _checksum(algorithm: str, data: Sequence[bytes]) -> str:
    hasher = _HASHERS[algorithm]()
    for chunk in data:
        hasher.update(chunk)
    return base64.b64encode(hasher.digest()).decode()


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def _no_such_upload(upload_id: str) -> TwinError:
    return TwinError("NoSuchUpload", _NO_SUCH_UPLOAD, status=404, extra={"UploadId": upload_id})


class Uploads:
    """The multipart uploads in progress in one workspace (folders on disk)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.root = store.s3_root / _UPLOADS

    def folder(self, upload_id: str) -> Path:
        return self.root / upload_id

    def create(self, info: dict[str, Any]) -> str:
        """A new upload described by ``info`` (bucket, key, object settings); its id."""
        upload_id = secrets.token_hex(32)
        folder = self.folder(upload_id)
        folder.mkdir(parents=True)
        self._write_json(folder / "upload.json", {**info, "initiated": time.time()})
        return upload_id

    def get(self, bucket: str, key: str, upload_id: str) -> dict[str, Any]:
        """The upload ``upload_id`` of ``bucket``/``key``, else ``NoSuchUpload``."""
        info = self.read(upload_id)
        if info is None or info["bucket"] != bucket or info["key"] != key:
            raise _no_such_upload(upload_id)
        return info

    def read(self, upload_id: str) -> dict[str, Any] | None:
        if not _UPLOAD_ID.fullmatch(upload_id):
            return None
        try:
            info: dict[str, Any] = json.loads((self.folder(upload_id) / "upload.json").read_text())
        except (OSError, ValueError):
            return None
        info["id"] = upload_id
        return info

    def all(self) -> list[dict[str, Any]]:
        if not self.root.is_dir():
            return []
        found = (self.read(path.name) for path in self.root.iterdir())
        return [info for info in found if info is not None]

    def put_part(
        self, info: dict[str, Any], number: int, body: IO[bytes] | None, algorithm: str | None
    ) -> dict[str, Any]:
        """Stream part ``number`` to disk (replacing an earlier one); its record."""
        folder = self.folder(info["id"])
        final = folder / f"part-{number:05d}"
        tmp = self.store.tmp_path(final)
        md5 = hashlib.md5(usedforsecurity=False)
        hasher = _HASHERS[algorithm]() if algorithm in _HASHERS else None
        size = 0
        try:
            with tmp.open("wb") as out:
                while body is not None:
                    chunk = body.read(_CHUNK)
                    if not chunk:
                        break
                    out.write(chunk)
                    md5.update(chunk)
                    if hasher is not None:
                        hasher.update(chunk)
                    size += len(chunk)
            record: dict[str, Any] = {
                "PartNumber": number,
                "ETag": f'"{md5.hexdigest()}"',
                "Size": size,
                "LastModified": time.time(),
                "md5": md5.hexdigest(),
            }
            if hasher is not None and algorithm is not None:
                record[f"Checksum{algorithm}"] = base64.b64encode(hasher.digest()).decode()
            try:
                os.replace(tmp, final)
                self._write_json(folder / f"part-{number:05d}.json", record)
            except FileNotFoundError:  # aborted or completed meanwhile
                raise _no_such_upload(info["id"]) from None
        finally:
            with suppress(OSError):
                tmp.unlink()
        return record

    def parts(self, upload_id: str) -> list[dict[str, Any]]:
        """The parts uploaded so far, by part number."""
        out = []
        for path in sorted(self.folder(upload_id).glob("part-[0-9][0-9][0-9][0-9][0-9].json")):
            with suppress(OSError, ValueError):
                out.append(json.loads(path.read_text()))
        return out

    def part_path(self, upload_id: str, number: int) -> Path:
        return self.folder(upload_id) / f"part-{number:05d}"

    def remove(self, upload_id: str) -> None:
        shutil.rmtree(self.folder(upload_id), ignore_errors=True)

    def remove_bucket(self, bucket: str) -> None:
        """Forget the uploads in progress into ``bucket`` (the bucket is deleted)."""
        for info in self.all():
            if info["bucket"] == bucket:
                self.remove(info["id"])

    def _write_json(self, final: Path, data: dict[str, Any]) -> None:
        """Write ``final`` atomically, never re-creating its folder (an upload aborted
        meanwhile stays gone: ``FileNotFoundError``)."""
        tmp = self.store.tmp_path(final)
        try:
            tmp.write_text(json.dumps(data))
            os.replace(tmp, final)
        finally:
            with suppress(OSError):
                tmp.unlink()


class _Chained(io.RawIOBase):
    """The concatenation of files, read one after the other (never all in memory)."""

    def __init__(self, paths: Sequence[Path]) -> None:
        super().__init__()
        self._paths = list(paths)
        self._current: IO[bytes] | None = None

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        want = _CHUNK if size is None or size < 0 else size
        while True:
            if self._current is None:
                if not self._paths:
                    return b""
                self._current = self._paths.pop(0).open("rb")
            data = self._current.read(want)
            if data:
                return data
            self._current.close()
            self._current = None

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None
        super().close()


def _owner(account_id: str) -> dict[str, str]:
    return {"ID": hashlib.sha256(account_id.encode()).hexdigest()}


class Objects(Protocol):
    """What the multipart operations need of the S3 twin's object store
    (:class:`personakit.local.s3.S3Objects`)."""

    def require_bucket(self, name: str) -> sqlite3.Row:
        """The bucket's row; ``NoSuchBucket`` if it does not exist."""

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
        """Store an object from ``body``; its index row."""


class MultipartOps(EngineTwin):
    """The multipart upload operations of the S3 twin (a mixin of
    :class:`~personakit.local.s3.S3Twin`); see the module docstring."""

    _objects: Objects

    def _uploads(self) -> Uploads:
        return Uploads(self._engine.store)

    def _sse(self, p: dict[str, Any]) -> tuple[str, str | None]:
        sse = p.get("ServerSideEncryption") or "AES256"
        kms = p.get("SSEKMSKeyId")
        if sse.startswith("aws:kms") and not kms:
            kms = f"arn:aws:kms:{self.region_name}:{self._engine.account_id}:alias/aws/s3"
        return sse, kms if sse.startswith("aws:kms") else None

    @staticmethod
    def _encryption(info: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"ServerSideEncryption": info["sse"]}
        if info.get("kms_key"):
            out["SSEKMSKeyId"] = info["kms_key"]
        return out

    def _op_CreateMultipartUpload(self, p: dict[str, Any]) -> dict[str, Any]:
        self._objects.require_bucket(p["Bucket"])
        sse, kms = self._sse(p)
        algorithm = (p.get("ChecksumAlgorithm") or "").upper() or None
        checksum_type = p.get("ChecksumType") or ("COMPOSITE" if algorithm else None)
        info = {
            "bucket": p["Bucket"],
            "key": p["Key"],
            "content_type": p.get("ContentType"),
            "sse": sse,
            "kms_key": kms,
            "metadata": dict(p.get("Metadata") or {}),
            "algorithm": algorithm,
            "checksum_type": checksum_type,
        }
        upload_id = self._uploads().create(info)
        out: dict[str, Any] = {
            "Bucket": p["Bucket"],
            "Key": p["Key"],
            "UploadId": upload_id,
            **self._encryption(info),
        }
        if algorithm:
            out["ChecksumAlgorithm"] = algorithm
            out["ChecksumType"] = checksum_type
        return out

    def _op_UploadPart(self, p: dict[str, Any]) -> dict[str, Any]:
        self._objects.require_bucket(p["Bucket"])
        number = int(p["PartNumber"])
        if not 1 <= number <= MAX_PARTS:
            raise TwinError(
                "InvalidArgument",
                f"Part number must be an integer between 1 and {MAX_PARTS}, inclusive",
                extra={"ArgumentName": "partNumber", "ArgumentValue": str(number)},
            )
        uploads = self._uploads()
        info = uploads.get(p["Bucket"], p["Key"], p["UploadId"])
        algorithm = (p.get("ChecksumAlgorithm") or info.get("algorithm") or "").upper() or None
        body = p.get("Body")
        if isinstance(body, (bytes, bytearray)):
            body = io.BytesIO(bytes(body))
        record = uploads.put_part(info, number, body, algorithm)
        self._check_digests(p, record, algorithm)
        out: dict[str, Any] = {"ETag": record["ETag"], **self._encryption(info)}
        for key, value in record.items():
            if key.startswith("Checksum"):
                out[key] = value
        if algorithm and algorithm not in _HASHERS and p.get(f"Checksum{algorithm}"):
            out[f"Checksum{algorithm}"] = p[f"Checksum{algorithm}"]  # taken as sent
        return out

    @staticmethod
    def _check_digests(p: dict[str, Any], record: dict[str, Any], algorithm: str | None) -> None:
        sent_md5 = p.get("ContentMD5")
        if sent_md5:
            try:
                ok = base64.b64decode(sent_md5).hex() == record["md5"]
            except (binascii.Error, ValueError):
                raise TwinError(
                    "InvalidDigest", "The Content-MD5 you specified was invalid."
                ) from None
            if not ok:
                raise TwinError(
                    "BadDigest", "The Content-MD5 you specified did not match what we received."
                )
        if algorithm in _HASHERS:
            sent = p.get(f"Checksum{algorithm}")
            if sent and sent != record.get(f"Checksum{algorithm}"):
                raise TwinError(
                    "BadDigest",
                    f"The {algorithm} you specified did not match the calculated checksum.",
                )

    def _op_CompleteMultipartUpload(self, p: dict[str, Any]) -> dict[str, Any]:
        bucket, key, upload_id = p["Bucket"], p["Key"], p["UploadId"]
        self._objects.require_bucket(bucket)
        uploads = self._uploads()
        info = uploads.get(bucket, key, upload_id)
        asked = list((p.get("MultipartUpload") or {}).get("Parts") or [])
        if not asked:
            raise TwinError(
                "MalformedXML",
                "The XML you provided was not well-formed or did not validate against our "
                "published schema",
            )
        numbers = [int(part.get("PartNumber") or 0) for part in asked]
        if any(b <= a for a, b in itertools.pairwise(numbers)):
            raise TwinError(
                "InvalidPartOrder",
                "The list of parts was not in ascending order. The parts list must be "
                "specified in order by part number.",
                extra={"UploadId": upload_id},
            )
        stored = {int(r["PartNumber"]): r for r in uploads.parts(upload_id)}
        algorithm = info.get("algorithm")
        chosen = []
        for part in asked:
            number = int(part.get("PartNumber") or 0)
            record = stored.get(number)
            etag = str(part.get("ETag") or "").strip('"')
            if record is None or etag != record["md5"] or not self._same_checksum(part, record):
                raise TwinError(
                    "InvalidPart",
                    "One or more of the specified parts could not be found. The part may not "
                    "have been uploaded, or the specified entity tag may not match the part's "
                    "entity tag.",
                    extra={"UploadId": upload_id, "PartNumber": str(number), "ETag": etag},
                )
            chosen.append(record)
        for record in chosen[:-1]:
            if int(record["Size"]) < MIN_PART_BYTES:
                raise TwinError(
                    "EntityTooSmall",
                    "Your proposed upload is smaller than the minimum allowed object size.",
                    extra={
                        "UploadId": upload_id,
                        "PartNumber": str(record["PartNumber"]),
                        "ProposedSize": str(record["Size"]),
                        "MinSizeAllowed": str(MIN_PART_BYTES),
                    },
                )
        expected_size = p.get("MpuObjectSize")
        total = sum(int(r["Size"]) for r in chosen)
        if expected_size is not None and int(expected_size) != total:
            raise TwinError(
                "InvalidRequest",
                f"The provided MpuObjectSize {expected_size} does not match the object size "
                f"{total}.",
            )
        md5s = [bytes.fromhex(r["md5"]) for r in chosen]
        etag = f'"{hashlib.md5(b"".join(md5s), usedforsecurity=False).hexdigest()}-{len(chosen)}"'
        paths = [uploads.part_path(upload_id, int(r["PartNumber"])) for r in chosen]
        with _Chained(paths) as body:
            row = self._objects.put(
                bucket,
                key,
                cast("IO[bytes]", body),
                content_type=info.get("content_type"),
                sse=info["sse"],
                kms_key=info.get("kms_key"),
                metadata=info.get("metadata"),
                etag=etag,
            )
        uploads.remove(upload_id)
        out: dict[str, Any] = {
            "Location": f"https://{bucket}.s3.{self.region_name}.amazonaws.com/{key}",
            "Bucket": bucket,
            "Key": key,
            "ETag": row["etag"],
            **self._encryption(info),
        }
        if algorithm in _HASHERS:
            raw = [base64.b64decode(r[f"Checksum{algorithm}"]) for r in chosen]
            out[f"Checksum{algorithm}"] = f"{_checksum(algorithm, raw)}-{len(chosen)}"
            out["ChecksumType"] = info.get("checksum_type") or "COMPOSITE"
        return out

    @staticmethod
    def _same_checksum(part: dict[str, Any], record: dict[str, Any]) -> bool:
        for name, value in part.items():
            if name.startswith("Checksum") and name in record and value != record[name]:
                return False
        return True

    def _op_AbortMultipartUpload(self, p: dict[str, Any]) -> dict[str, Any]:
        self._objects.require_bucket(p["Bucket"])
        uploads = self._uploads()
        uploads.get(p["Bucket"], p["Key"], p["UploadId"])
        uploads.remove(p["UploadId"])
        return {}

    def _op_ListParts(self, p: dict[str, Any]) -> dict[str, Any]:
        self._objects.require_bucket(p["Bucket"])
        uploads = self._uploads()
        info = uploads.get(p["Bucket"], p["Key"], p["UploadId"])
        most = p.get("MaxParts")
        most = 1000 if most is None else max(0, min(int(most), 1000))
        marker = int(p.get("PartNumberMarker") or 0)
        after = [r for r in uploads.parts(info["id"]) if int(r["PartNumber"]) > marker]
        chunk = after[:most]
        parts = []
        for record in chunk:
            entry = {
                "PartNumber": record["PartNumber"],
                "LastModified": _utc(int(record["LastModified"])),
                "ETag": record["ETag"],
                "Size": record["Size"],
            }
            entry.update({k: v for k, v in record.items() if k.startswith("Checksum")})
            parts.append(entry)
        owner = _owner(self._engine.account_id)
        out: dict[str, Any] = {
            "Bucket": info["bucket"],
            "Key": info["key"],
            "UploadId": info["id"],
            "PartNumberMarker": marker,
            "MaxParts": most,
            "IsTruncated": len(after) > len(chunk),
            "Initiator": owner,
            "Owner": owner,
            "StorageClass": "STANDARD",
        }
        if parts:
            out["Parts"] = parts
            out["NextPartNumberMarker"] = parts[-1]["PartNumber"]
        if info.get("algorithm"):
            out["ChecksumAlgorithm"] = info["algorithm"]
            out["ChecksumType"] = info.get("checksum_type") or "COMPOSITE"
        return out

    def _op_ListMultipartUploads(self, p: dict[str, Any]) -> dict[str, Any]:
        bucket = p["Bucket"]
        self._objects.require_bucket(bucket)
        prefix = p.get("Prefix") or ""
        delimiter = p.get("Delimiter") or ""
        most = p.get("MaxUploads")
        most = 1000 if most is None else max(0, min(int(most), 1000))
        key_marker = p.get("KeyMarker") or ""
        id_marker = p.get("UploadIdMarker") or ""
        found = sorted(
            (
                info
                for info in self._uploads().all()
                if info["bucket"] == bucket and str(info["key"]).startswith(prefix)
            ),
            key=lambda i: (str(i["key"]).encode(), float(i["initiated"]), str(i["id"])),
        )
        owner = _owner(self._engine.account_id)
        uploads: list[dict[str, Any]] = []
        prefixes: list[str] = []
        truncated = False
        last_key, last_id = "", ""
        for info in self._after(found, key_marker, id_marker, delimiter):
            name = str(info["key"])
            idx = name.find(delimiter, len(prefix)) if delimiter else -1
            common = name[: idx + len(delimiter)] if idx >= 0 else None
            if common is not None and common in prefixes:
                continue
            if len(uploads) + len(prefixes) >= most:
                truncated = True
                break
            if common is not None:
                prefixes.append(common)
                last_key, last_id = common, ""
                continue
            entry: dict[str, Any] = {
                "UploadId": info["id"],
                "Key": name,
                "Initiated": _utc(int(info["initiated"])),
                "StorageClass": "STANDARD",
                "Owner": owner,
                "Initiator": owner,
            }
            if info.get("algorithm"):
                entry["ChecksumAlgorithm"] = info["algorithm"]
                entry["ChecksumType"] = info.get("checksum_type") or "COMPOSITE"
            uploads.append(entry)
            last_key, last_id = name, str(info["id"])
        out: dict[str, Any] = {
            "Bucket": bucket,
            "KeyMarker": key_marker,
            "UploadIdMarker": id_marker,
            "Prefix": prefix,
            "MaxUploads": most,
            "IsTruncated": truncated,
        }
        if uploads:
            out["Uploads"] = uploads
        if prefixes:
            out["CommonPrefixes"] = [{"Prefix": x} for x in prefixes]
        if delimiter:
            out["Delimiter"] = delimiter
        if truncated:
            out["NextKeyMarker"] = last_key
            out["NextUploadIdMarker"] = last_id
        return out

    @staticmethod
    def _after(
        found: list[dict[str, Any]], key_marker: str, id_marker: str, delimiter: str
    ) -> Iterator[dict[str, Any]]:
        """The uploads listed after the markers: keys after ``key_marker`` (not under it
        when it is a common prefix returned before) and, with ``id_marker``, that key's
        uploads after the one named."""
        passed = False
        for info in found:
            name = str(info["key"])
            if not key_marker:
                yield info
                continue
            if name == key_marker and id_marker:
                if passed:
                    yield info
                elif info["id"] == id_marker:
                    passed = True
                continue
            if name.encode() <= key_marker.encode():
                continue
            if delimiter and key_marker.endswith(delimiter) and name.startswith(key_marker):
                continue
            yield info

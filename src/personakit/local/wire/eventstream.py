"""The AWS event-stream framing (``application/vnd.amazon.eventstream``), written.

botocore reads it (``botocore.eventstream``); the engine writes it for
``InvokeEndpointWithResponseStream``. A message is a prelude (total length,
headers length, CRC32 of those 8 bytes), string headers, the payload and a CRC32
of everything before it:
https://docs.aws.amazon.com/AmazonS3/latest/API/RESTSelectObjectAppendix.html
"""

from __future__ import annotations

import binascii
import json
import struct
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from botocore.model import Shape, StructureShape

from personakit.local.wire.codec import as_bytes, encode_json

__all__ = ["encode_events", "frame"]

_STRING = 7  # the header value type "string"


def frame(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One event-stream message."""
    encoded = b"".join(
        struct.pack("B", len(name.encode()))
        + name.encode()
        + struct.pack("!BH", _STRING, len(value.encode()))
        + value.encode()
        for name, value in headers.items()
    )
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack("!II", total, len(encoded))
    prelude += struct.pack("!I", binascii.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + encoded + payload
    return message + struct.pack("!I", binascii.crc32(message) & 0xFFFFFFFF)


def _event(
    name: str, value: Mapping[str, Any], shape: StructureShape, problems: list[str]
) -> bytes:
    payload_member = next(
        (m for m, s in shape.members.items() if s.serialization.get("eventpayload")), None
    )
    if payload_member is not None:
        member_shape = shape.members[payload_member]
        data = value.get(payload_member, b"")
        if member_shape.type_name in ("blob", "string"):
            payload = as_bytes(data)
            content_type = "application/octet-stream"
        else:
            payload = json.dumps(encode_json(data, member_shape, problems)).encode()
            content_type = "application/json"
    else:
        payload = json.dumps(encode_json(dict(value), shape, problems)).encode()
        content_type = "application/json"
    if shape.metadata.get("exception"):
        headers = {
            ":message-type": "exception",
            ":exception-type": name,
            ":content-type": "application/json",
        }
        return frame(headers, payload)
    headers = {":message-type": "event", ":event-type": name, ":content-type": content_type}
    return frame(headers, payload)


def encode_events(
    events: Iterable[Mapping[str, Any]], shape: Shape, problems: list[str]
) -> Iterator[bytes]:
    """The frames of ``events`` (``{"PayloadPart": {...}}`` dicts), lazily.

    A generator: the handler's events are encoded as the caller reads them, so a
    streamed answer stays streamed.
    """
    assert isinstance(shape, StructureShape)
    for event in events:
        for name, value in event.items():
            member = shape.members.get(name)
            if not isinstance(member, StructureShape):
                problems.append(f"event stream: unknown event {name!r}")
                continue
            yield _event(name, value, member, problems)

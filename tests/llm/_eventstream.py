"""Encode AWS event-stream messages, as SageMaker sends ``InvokeEndpointWithResponseStream``.

botocore ships only the decoder (``botocore.eventstream``); this is the encoder for
tests: prelude (total length, headers length, CRC32), string headers, payload, CRC32.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterable, Iterator, Mapping


def encode_message(headers: Mapping[str, str], payload: bytes) -> bytes:
    encoded = b"".join(
        bytes([len(name)])
        + name.encode()
        + b"\x07"
        + struct.pack(">H", len(value))
        + value.encode()
        for name, value in headers.items()
    )
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack(">II", total, len(encoded))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", zlib.crc32(message))


def payload_part(data: bytes) -> bytes:
    return encode_message(
        {
            ":message-type": "event",
            ":event-type": "PayloadPart",
            ":content-type": "application/octet-stream",
        },
        data,
    )


def model_stream_error(message: str) -> bytes:
    return encode_message(
        {
            ":message-type": "exception",
            ":exception-type": "ModelStreamError",
            ":content-type": "application/json",
        },
        json.dumps({"Message": message, "ErrorCode": "500"}).encode(),
    )


class RawStream:
    """What botocore reads an event stream from: ``stream()`` yields byte chunks.

    The wire bytes are cut every ``chunk`` bytes, so messages arrive split.
    """

    def __init__(self, messages: Iterable[bytes], chunk: int = 7) -> None:
        self.data = b"".join(messages)
        self.chunk = chunk
        self.closed = False

    def stream(self, **_: object) -> Iterator[bytes]:
        for start in range(0, len(self.data), self.chunk):
            yield self.data[start : start + self.chunk]

    def close(self) -> None:
        self.closed = True

    def release_conn(self) -> None:
        self.closed = True

"""XML bodies of the ``rest-xml`` protocol (S3), read and written by botocore shape.

The mirror image of botocore's ``RestXMLSerializer`` (requests) and
``RestXMLParser`` (responses): member names from ``locationName``, flattened and
wrapped lists, ``entry``/``key``/``value`` maps, attributes, ISO 8601 timestamps
and base64 blobs; S3's namespace on the root.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from personakit.local.wire.codec import (
    RequestFormatError,
    decode_scalar,
    encode_scalar,
    iso8601,
)

__all__ = ["S3_NAMESPACE", "decode_xml", "encode_xml", "parse_xml"]

S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_xml(body: bytes) -> ET.Element:
    """The root element of ``body``; :class:`RequestFormatError` if it is not XML.

    Entity declarations are refused outright (no billion laughs, no external
    entities), as S3 does.
    """
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise RequestFormatError("XML with a document type declaration is not accepted")
    try:
        return ET.fromstring(body)
    except ET.ParseError as exc:
        raise RequestFormatError(f"the XML body does not parse: {exc}") from exc


def _children(node: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in node if _local(child.tag) == name]


def decode_xml(node: ET.Element, shape: Shape) -> Any:
    """The Python value of ``node`` (the element of one member) by ``shape``."""
    if isinstance(shape, StructureShape):
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            if member.serialization.get("location"):
                continue
            key = member.serialization.get("name", name)
            if member.serialization.get("xmlAttribute"):
                for attr, text in node.attrib.items():
                    if _local(attr) == key.rsplit(":", 1)[-1]:
                        out[name] = decode_scalar(text, member)
                continue
            found = _children(node, key)
            if not found:
                continue
            if isinstance(member, ListShape) and member.serialization.get("flattened"):
                out[name] = [decode_xml(item, member.member) for item in found]
            else:
                out[name] = decode_xml(found[0], member)
        return out
    if isinstance(shape, ListShape):
        item_name = shape.member.serialization.get("name", "member")
        return [decode_xml(item, shape.member) for item in _children(node, item_name)]
    if isinstance(shape, MapShape):
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        entries = node if shape.serialization.get("flattened") else _children(node, "entry")
        result: dict[str, Any] = {}
        for entry in entries:
            keys, values = _children(entry, key_name), _children(entry, value_name)
            if keys and values:
                result[keys[0].text or ""] = decode_xml(values[0], shape.value)
        return result
    return decode_scalar(node.text or "", shape)


def encode_xml(
    parent: ET.Element | None,
    value: Any,
    shape: Shape,
    name: str,
    problems: list[str],
    path: str = "",
) -> ET.Element:
    """``value`` written as element ``name`` (under ``parent`` when given)."""
    where = path or name
    if isinstance(shape, ListShape) and shape.serialization.get("flattened"):
        assert parent is not None, "a flattened list needs a parent"
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
            problems.append(f"{where}: expected a list, got {type(value).__name__}")
            return parent
        for i, item in enumerate(value):
            encode_xml(parent, item, shape.member, name, problems, f"{where}[{i}]")
        return parent
    node = ET.Element(name) if parent is None else ET.SubElement(parent, name)
    if isinstance(shape, StructureShape):
        if not isinstance(value, Mapping):
            problems.append(f"{where}: expected a structure, got {type(value).__name__}")
            return node
        for key, item in value.items():
            member = shape.members.get(key)
            if member is None:
                problems.append(f"{where}: unknown member {key!r}")
                continue
            if item is None or member.serialization.get("location"):
                continue
            member_name = str(member.serialization.get("name", key))
            if member.serialization.get("xmlAttribute"):
                node.set(member_name, str(item))
                continue
            encode_xml(node, item, member, member_name, problems, f"{where}.{key}")
        for key in shape.required_members:
            if value.get(key) is None and not shape.members[key].serialization.get("location"):
                problems.append(f"{where}: missing required member {key!r}")
    elif isinstance(shape, ListShape):
        item_name = shape.member.serialization.get("name", "member")
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
            problems.append(f"{where}: expected a list, got {type(value).__name__}")
            return node
        for i, item in enumerate(value):
            encode_xml(node, item, shape.member, item_name, problems, f"{where}[{i}]")
    elif isinstance(shape, MapShape):
        for key, item in dict(value).items():
            entry = ET.SubElement(node, "entry")
            ET.SubElement(entry, shape.key.serialization.get("name", "key")).text = str(key)
            encode_xml(entry, item, shape.value, "value", problems, f"{where}.{key}")
    elif shape.type_name == "timestamp":
        node.text = iso8601(value)
    elif shape.type_name == "boolean":
        node.text = "true" if value else "false"
    else:
        encoded = encode_scalar(value, shape, problems, where)
        node.text = "" if encoded is None else str(encoded)
    return node

"""The SCIP schema, and ``index.scip`` files decoded with it by the protobuf runtime.

The schema is the official ``scip.proto`` (github.com/sourcegraph/scip, Apache-2.0), compiled:
Sourcegraph publishes no package of it, so the descriptor comes from the npm package
``@c4312/scip`` (Apache-2.0), whose ``scip_pb.js`` embeds the serialized ``FileDescriptorProto``
that buf compiled from that file. ``tools/scip/package-lock.json`` pins it (with scip-python)
by integrity hash, and ``npm ci --prefix tools/scip`` installs both. The descriptor is added to a
private descriptor pool at run time, so no generated code is committed and no ``protoc`` is
needed; the pinned ``protobuf`` runtime (upb) does the decoding.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

TOOLS_ENV = "CPG_SCIP_TOOLS"
"""Overrides the folder of the pinned npm packages (default: this checkout's ``tools/scip``)."""
SCHEMA_FILE = Path("node_modules", "@c4312", "scip", "scip_pb.js")
_EMBEDDED = re.compile(r'fileDesc\)\("([A-Za-z0-9+/_-]+=*)"\)')


class ScipSchemaError(RuntimeError):
    """The pinned SCIP schema is missing or unreadable (names the file)."""


class ScipDecodeError(ValueError):
    """An ``index.scip`` that is no SCIP index."""


def tools_dir() -> Path:
    """The folder holding ``node_modules`` with scip-python and the schema package."""
    override = os.environ.get(TOOLS_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3] / "tools" / "scip"


@cache
def index_class(tools: Path) -> Any:
    """The message class of ``scip.Index``, built from the pinned descriptor under ``tools``."""
    path = tools / SCHEMA_FILE
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or exc
        msg = f"{path}: cannot read the SCIP schema ({reason}); run npm ci --prefix tools/scip"
        raise ScipSchemaError(msg) from None
    found = _EMBEDDED.search(source)
    if found is None:
        raise ScipSchemaError(f"{path}: no embedded scip.proto descriptor")
    text = found.group(1).replace("-", "+").replace("_", "/")  # either base64 alphabet
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        proto = descriptor_pb2.FileDescriptorProto.FromString(raw)
    except (binascii.Error, DecodeError) as exc:
        raise ScipSchemaError(f"{path}: the embedded descriptor does not decode: {exc}") from None
    if proto.package != "scip":
        raise ScipSchemaError(f"{path}: the embedded descriptor is {proto.name!r}, not scip.proto")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("scip.Index"))


def decode_index(data: bytes, tools: Path | None = None) -> Any:
    """``data`` decoded as a ``scip.Index`` message."""
    cls = index_class(tools or tools_dir())
    try:
        return cls.FromString(data)
    except DecodeError as exc:
        raise ScipDecodeError(f"not a SCIP index: {exc}") from None

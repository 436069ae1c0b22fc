"""Where a Delta table lives: a local path or an object-store URI, and how to reach it.

Object-store credentials and endpoints come from the standard AWS environment variables
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION`` or
``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL``) and are passed to deltalake as storage options.
delta-rs 1.x commits to S3 with conditional puts (``If-None-Match``), so concurrent writers
cannot overwrite each other's commits; unsafe renames are never enabled.
"""

from __future__ import annotations

import os
from pathlib import Path

Location = str | Path
"""A local path or a URI such as ``s3://bucket/prefix``."""

_AWS_OPTIONS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
)


def is_uri(location: Location) -> bool:
    """Whether ``location`` is an object-store URI rather than a local path."""
    return isinstance(location, str) and "://" in location


def join(location: Location, *parts: str) -> Location:
    """``location`` with ``parts`` appended, keeping URIs as strings and paths as ``Path``."""
    if is_uri(location):
        return "/".join([str(location).rstrip("/"), *parts])
    return Path(location, *parts)


def storage_options(location: Location) -> dict[str, str] | None:
    """deltalake storage options for ``location`` (None for local paths)."""
    if not is_uri(location):
        return None
    options = {key: os.environ[key] for key in _AWS_OPTIONS if os.environ.get(key)}
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        options["AWS_REGION"] = region
    if options.get("AWS_ENDPOINT_URL", "").startswith("http://"):
        options["AWS_ALLOW_HTTP"] = "true"
    return options

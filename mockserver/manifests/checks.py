"""Field-by-field validation of one document, collecting every problem with its path."""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

from .documents import Document
from .errors import ManifestError
from .paths import child

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
TRUST_DOMAIN = re.compile(r"^[a-z0-9._-]+$")
SPIFFE_SEGMENT = re.compile(r"^[A-Za-z0-9._-]+$")

LABEL_TEXT = (
    "a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter "
    "or digit, at most 63 characters)"
)
SUBDOMAIN_TEXT = (
    "a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', starting and ending with "
    "a letter or digit, at most 253 characters)"
)

_MISSING = object()


def describe(value: Any) -> str:
    """How a YAML value reads in an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def is_dns_label(text: str) -> bool:
    """Whether ``text`` is a valid Kubernetes DNS-1123 label."""
    return len(text) <= 63 and bool(DNS1123_LABEL.match(text))


def is_dns_subdomain(text: str) -> bool:
    """Whether ``text`` is a valid Kubernetes DNS-1123 subdomain."""
    return len(text) <= 253 and bool(DNS1123_SUBDOMAIN.match(text))


def spiffe_id_problem(text: str) -> str | None:
    """Why ``text`` is not a SPIFFE ID (``spiffe://<trust-domain>/<path>``), or None."""
    if not text.startswith("spiffe://"):
        return "must start with spiffe://"
    if len(text) > 2048:
        return "must be at most 2048 characters"
    rest = text[len("spiffe://") :]
    domain, _, path = rest.partition("/")
    if not domain or not TRUST_DOMAIN.match(domain):
        return "the trust domain must be lower-case letters, digits, '.', '_' and '-'"
    if "/" in rest:
        for segment in path.split("/"):
            if not segment:
                return "the path must not have empty segments or a trailing '/'"
            if segment in (".", ".."):
                return "the path must not have '.' or '..' segments"
            if not SPIFFE_SEGMENT.match(segment):
                return "path segments must be letters, digits, '.', '_' and '-'"
    return None


def https_url_problem(text: str, *, allow_http: bool = False) -> str | None:
    """Why ``text`` is not an absolute https URL without query or fragment, or None."""
    try:
        parts = urlsplit(text)
        _ = parts.port
    except ValueError as exc:
        return f"is not a URL ({exc})"
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        return "must start with " + " or ".join(f"{s}://" for s in schemes)
    if not parts.hostname:
        return "must name a host"
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        return "must not have a query or fragment"
    return None


def host_problem(text: str) -> str | None:
    """Why ``text`` is neither an IP address nor a DNS name (``*.`` allowed first), or None."""
    try:
        ipaddress.ip_address(text)
        return None
    except ValueError:
        pass
    name = text[2:] if text.startswith("*.") else text
    if is_dns_subdomain(name):
        return None
    return "must be an IP address or a lower-case DNS name"


class Checker:
    """Validates one document; every problem is recorded, none raised until the end."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.errors: list[ManifestError] = []

    def fail(self, path: str, expected: str) -> None:
        """Record one problem at ``path``."""
        self.errors.append(self.doc.error(path, expected))

    def fields(self, obj: dict[str, Any], path: str, allowed: tuple[str, ...] | list[str]) -> None:
        """Unknown members are errors, as with ``kubectl apply --validate=strict``."""
        for key in obj:
            if key not in allowed:
                self.fail(
                    child(path, key),
                    "unknown field; expected one of " + ", ".join(allowed),
                )

    def mapping(
        self, obj: dict[str, Any], key: str, path: str, *, required: bool = True
    ) -> dict[str, Any] | None:
        """A member that must be a mapping; an absent optional one reads as None."""
        value = obj.get(key, _MISSING)
        here = child(path, key)
        if value is _MISSING or (value is None and not required):
            if required:
                self.fail(here, "expected a mapping (required)")
            return None
        if not isinstance(value, dict):
            self.fail(here, f"expected a mapping, got {describe(value)}")
            return None
        return value

    def listing(
        self, obj: dict[str, Any], key: str, path: str, *, required: bool = False
    ) -> list[Any] | None:
        """A member that must be a list; absent reads as None (an error if required)."""
        value = obj.get(key, _MISSING)
        here = child(path, key)
        if value is _MISSING or (value is None and not required):
            if required:
                self.fail(here, "expected a list (required; it may be empty: [])")
            return None
        if not isinstance(value, list):
            self.fail(here, f"expected a list, got {describe(value)}")
            return None
        return value

    def string(
        self,
        obj: dict[str, Any],
        key: str,
        path: str,
        *,
        required: bool = False,
        non_empty: bool = False,
    ) -> str | None:
        """A member that must be a string."""
        value = obj.get(key, _MISSING)
        here = child(path, key)
        if value is _MISSING or value is None:
            if required:
                self.fail(here, "expected a string (required)")
            return None
        if not isinstance(value, str):
            self.fail(here, f"expected a string, got {describe(value)}; quote it")
            return None
        if non_empty and not value:
            self.fail(here, "expected a non-empty string")
            return None
        return value

    def integer(
        self,
        obj: dict[str, Any],
        key: str,
        path: str,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        """A member that must be an integer, optionally within bounds."""
        value = obj.get(key, _MISSING)
        here = child(path, key)
        if value is _MISSING or value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(here, f"expected an integer, got {describe(value)}")
            return None
        if minimum is not None and value < minimum:
            self.fail(here, f"expected an integer >= {minimum}, got {value}")
            return None
        if maximum is not None and value > maximum:
            self.fail(here, f"expected an integer <= {maximum}, got {value}")
            return None
        return value

    def boolean(self, obj: dict[str, Any], key: str, path: str) -> bool | None:
        """A member that must be true or false."""
        value = obj.get(key, _MISSING)
        if value is _MISSING or value is None:
            return None
        if not isinstance(value, bool):
            self.fail(child(path, key), f"expected true or false, got {describe(value)}")
            return None
        return value

    def choice(
        self, obj: dict[str, Any], key: str, path: str, options: tuple[str, ...]
    ) -> str | None:
        """A string member restricted to ``options``."""
        value = self.string(obj, key, path)
        if value is not None and value not in options:
            self.fail(
                child(path, key),
                f"expected one of {', '.join(options)}, got {describe(value)}",
            )
            return None
        return value

    def string_list(self, obj: dict[str, Any], key: str, path: str) -> list[str] | None:
        """A list whose items are all strings."""
        items = self.listing(obj, key, path)
        if items is None:
            return None
        good = True
        for i, item in enumerate(items):
            if not isinstance(item, str):
                self.fail(child(child(path, key), i), f"expected a string, got {describe(item)}")
                good = False
        return items if good else None

    def string_map(self, obj: dict[str, Any], key: str, path: str) -> dict[str, str] | None:
        """A mapping of strings to strings (Go ``map[string]string``)."""
        value = self.mapping(obj, key, path, required=False)
        if value is None:
            return None
        good = True
        for k, v in value.items():
            if not isinstance(k, str):
                self.fail(child(path, key), f"expected string keys, got {describe(k)}")
                good = False
            elif not isinstance(v, str):
                self.fail(
                    child(child(path, key), k), f"expected a string, got {describe(v)}; quote it"
                )
                good = False
        return value if good else None

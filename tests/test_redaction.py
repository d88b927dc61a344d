"""The scrubber: every encoding of a registered secret, and long fragments, become fingerprints."""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import quote, quote_plus

import pytest

from mockserver.admin.redaction import Redactor, encoded_forms, fingerprint
from mockserver.gojson import go_json

CANARY = 'cAnArY<>&"/ünïcødé 東京 \u2028-value-0123456789'


def every_encoding(secret: str) -> dict[str, str]:
    data = secret.encode()
    return {
        "raw": secret,
        "json": json.dumps(secret),
        "json-utf8": json.dumps(secret, ensure_ascii=False),
        "go": go_json(data).decode(),
        "b64": base64.b64encode(data).decode(),
        "b64-unpadded": base64.b64encode(data).decode().rstrip("="),
        "b64url": base64.urlsafe_b64encode(data).decode(),
        "b64url-unpadded": base64.urlsafe_b64encode(data).decode().rstrip("="),
        "b64-shifted": base64.b64encode(b"xy" + data).decode(),
        "percent": quote(secret, safe=""),
        "percent-path": quote(secret),
        "percent-plus": quote_plus(secret),
        "fragment": secret[6:20],
    }


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    redactor = Redactor()
    redactor.add(CANARY)
    return redactor


def test_fingerprint_is_sha256_prefix():
    assert fingerprint("abc") == "sha256:" + hashlib.sha256(b"abc").hexdigest()[:8]
    assert fingerprint(b"abc") == fingerprint("abc")


@pytest.mark.parametrize("encoding", sorted(every_encoding(CANARY)))
def test_every_encoding_is_replaced_by_the_fingerprint(redactor, encoding):
    encoded = every_encoding(CANARY)[encoding]
    scrubbed = redactor.scrub(f"before {encoded} after")
    assert fingerprint(CANARY) in scrubbed
    assert scrubbed.startswith("before ") and scrubbed.endswith(" after")
    for form in encoded_forms(CANARY):
        for start in range(0, max(1, len(form) - 12)):
            assert form[start : start + 12] not in scrubbed


def test_text_without_secrets_is_unchanged(redactor):
    text = "POST /secretstore/app-store/secrets/db/password -> 200"
    assert redactor.scrub(text) == text


def test_short_values_are_not_searched_in_free_text():
    redactor = Redactor()
    redactor.add("admin")
    assert len(redactor) == 0
    assert redactor.scrub("system:serviceaccount:ops:admin") == "system:serviceaccount:ops:admin"


def test_scrub_value_walks_json_and_mask_shows_the_fingerprint(redactor):
    value = {"a": [CANARY, 1, None], CANARY: "k"}
    assert redactor.scrub_value(value) == {
        "a": [fingerprint(CANARY), 1, None],
        fingerprint(CANARY): "k",
    }
    assert redactor.mask("x") == fingerprint("x")


def test_unredacted_shows_everything():
    redactor = Redactor(enabled=False)
    redactor.add(CANARY)
    assert redactor.scrub(CANARY) == CANARY
    assert redactor.mask(CANARY) == CANARY


def test_traffic_secrets_are_bounded_and_pinned_ones_stay():
    from mockserver.admin import redaction

    redactor = Redactor()
    redactor.add("pinned-secret-value-1")
    for number in range(redaction.MAX_SEEN + 10):
        redactor.add(f"token-{number:06d}-abcdefgh", pinned=False)
    assert len(redactor) < redaction.MAX_SEEN + 11
    assert redactor.scrub("pinned-secret-value-1") == fingerprint("pinned-secret-value-1")
    newest = f"token-{redaction.MAX_SEEN + 9:06d}-abcdefgh"
    assert redactor.scrub(newest) == fingerprint(newest)


def test_a_long_secret_inside_a_long_repetitive_text_is_scrubbed_in_one_pass():
    """Each match resumes at its end: 64 KiB of a repeated secret is one linear scan (the
    scrubber used to extend every position of the span again, quadratically)."""
    secret = "ab" * 32768
    redactor = Redactor()
    redactor.add(secret)
    text = "prefix " + secret + " suffix"
    assert redactor.scrub(text) == f"prefix {fingerprint(secret)} suffix"

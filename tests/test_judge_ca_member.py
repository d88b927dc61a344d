"""The `ca_crt_of` body check reads `ca.crt` as the real server's Go binder does (member names
match case-insensitively, the last match wins), so a client the server accepts is not failed."""

from __future__ import annotations

import base64
import json

from conformance.runner.judge import check_body
from conformance.scenarios.model import BodyMatcher

PEM = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
GOOD = base64.b64encode(PEM).decode()
MATCHER = BodyMatcher("ca_crt_of", "alpha")


def check(body: dict) -> str | None:
    return check_body(MATCHER, json.dumps(body).encode(), {"alpha": PEM})


def test_the_exact_member_passes():
    assert check({"ca.crt": GOOD}) is None


def test_a_case_variant_of_the_member_passes_as_the_server_reads_it():
    assert check({"CA.CRT": GOOD}) is None
    assert check({"Ca.Crt": GOOD}) is None


def test_the_last_matching_member_is_the_one_judged():
    assert check({"ca.crt": "wrong", "CA.CRT": GOOD}) is None
    assert check({"CA.CRT": GOOD, "ca.crt": "wrong"}) == (
        "ca.crt is not the padded standard base64 of cluster alpha's CA PEM"
    )


def test_a_near_miss_member_is_no_ca_crt():
    assert check({"ca_crt": GOOD}) == "expected a JSON object with a string ca.crt"
    assert check({"ca.crt ": GOOD}) == "expected a JSON object with a string ca.crt"


def test_unpadded_base64_is_refused():
    assert GOOD.endswith("=")  # the PEM's length leaves padding to drop
    assert check({"ca.crt": GOOD.rstrip("=")}) == (
        "ca.crt is not the padded standard base64 of cluster alpha's CA PEM"
    )


def test_the_client_suite_gives_ca_files_whose_base64_ends_in_two_pads():
    """So a client that drops or mangles base64 padding fails on every run (not one in three)."""
    from conformance.client_runner.mock import _padded

    for extra in range(6):
        pem = PEM + b"#" * extra
        padded = _padded(pem)
        assert padded.startswith(pem) and set(padded[len(pem) :]) <= {ord("\n")}
        assert base64.b64encode(padded).endswith(b"==")

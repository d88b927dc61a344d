"""The fake provider's lookups, versions, property paths and error texts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockserver.backends.stores import (
    FakeStore,
    SecretNotFound,
    StoreError,
    convert_key,
    store_not_found_message,
    store_not_ready_message,
)
from mockserver.gojson import go_json


@pytest.fixture
def store() -> FakeStore:
    return FakeStore(
        "fake",
        [
            ("db", '{"user": "admin", "port": 5432, "ratio": 1.50, "tags": [1, 2], "n": null}', ""),
            ("plain", "s3cr3t", ""),
            ("versioned", "v1-value", "v1"),
            ("versioned", "v2-value", "v2"),
            ("a", "from-a-bc", "bc"),
            ("ab", "from-ab-c", "c"),
            ("bin", b"ok\xff\xfe", ""),
        ],
    )


def test_plain_value(store: FakeStore) -> None:
    assert store.get_secret("plain") == "s3cr3t"
    assert go_json(store.get_secret("plain")) == b'"s3cr3t"\n'


def test_json_value_comes_back_as_text(store: FakeStore) -> None:
    assert store.get_secret("db").startswith('{"user": "admin"')


def test_missing_key_text_is_the_real_400_body() -> None:
    empty = FakeStore("fake", [])
    with pytest.raises(SecretNotFound) as info:
        empty.get_secret("nope")
    assert str(info.value) == "Secret does not exist"
    assert go_json(str(info.value)) == b'"Secret does not exist"\n'


def test_versions_must_match_exactly(store: FakeStore) -> None:
    assert store.get_secret("versioned", "v1") == "v1-value"
    assert store.get_secret("versioned", "v2") == "v2-value"
    with pytest.raises(SecretNotFound):
        store.get_secret("versioned")  # no empty-version entry
    with pytest.raises(SecretNotFound):
        store.get_secret("versionedv1")  # same storage key, but the version differs


def test_key_plus_version_collision_later_entry_wins(store: FakeStore) -> None:
    # "a"+"bc" and "ab"+"c" are both stored under "abc"; the later entry overwrote the earlier
    assert store.get_secret("ab", "c") == "from-ab-c"
    with pytest.raises(SecretNotFound):
        store.get_secret("a", "bc")


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        ("user", "admin"),
        ("port", "5432"),
        ("ratio", "1.5"),
        ("tags", "[1, 2]"),
        ("tags.#", "2"),
        ("n", ""),
    ],
)
def test_property(store: FakeStore, prop: str, expected: str) -> None:
    assert store.get_secret("db", property=prop) == expected


def test_missing_property_is_no_secret(store: FakeStore) -> None:
    with pytest.raises(SecretNotFound):
        store.get_secret("db", property="password")
    with pytest.raises(SecretNotFound):
        store.get_secret("plain", property="x")


def test_binary_value_is_kept_until_encoding(store: FakeStore) -> None:
    assert store.get_secret_bytes("bin") == b"ok\xff\xfe"
    assert go_json(store.get_secret("bin")) == b'"ok\\ufffd\\ufffd"\n'


def test_secret_map(store: FakeStore) -> None:
    assert store.get_secret_map("db") == {
        "user": b"admin",
        "port": b"5432",
        "ratio": b"1.50",
        "tags": b"[1, 2]",
        "n": b"",
    }


def test_secret_map_of_property_and_null() -> None:
    s = FakeStore("s", [("k", '{"inner": {"a": "\\u00e9", "b": true}, "z": null}', "")])
    assert s.get_secret_map("k", property="inner") == {"a": "é".encode(), "b": b"true"}
    # a null property prints as "", which Go then fails to unmarshal
    with pytest.raises(
        StoreError, match=r"^unable to unmarshal secret: unexpected end of JSON input$"
    ):
        s.get_secret_map("k", property="z")
    # a whole value of null unmarshals into a nil map: no error, no keys
    assert FakeStore("s", [("k", "null", "")]).get_secret_map("k") == {}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("s3cr3t", "invalid character 's' looking for beginning of value"),
        ("", "unexpected end of JSON input"),
        ('{"a": 1', "unexpected end of JSON input"),
        ('{"a" 1}', "invalid character '1' after object key"),
        ('{"a": 1,}', "invalid character '}' looking for beginning of object key string"),
        ('{"a": 1} x', "invalid character 'x' after top-level value"),
        ("[1 2]", "invalid character '2' after array element"),
        ("tru", "unexpected end of JSON input"),
        ("trux", "invalid character 'x' in literal true (expecting 'e')"),
        ("1.", "unexpected end of JSON input"),
        ("1.x", "invalid character 'x' after decimal point in numeric literal"),
        ('"a\\qb"', "invalid character 'q' in string escape code"),
        ('"a\tb"', "invalid character '\\t' in string literal"),
        ('"x"', "json: cannot unmarshal string into Go value of type map[string]json.RawMessage"),
        ("[1]", "json: cannot unmarshal array into Go value of type map[string]json.RawMessage"),
        ("12", "json: cannot unmarshal number into Go value of type map[string]json.RawMessage"),
        ("true", "json: cannot unmarshal bool into Go value of type map[string]json.RawMessage"),
    ],
)
def test_secret_map_errors(value: str, message: str) -> None:
    s = FakeStore("s", [("k", value, "")])
    with pytest.raises(StoreError) as info:
        s.get_secret_map("k")
    assert str(info.value) == f"unable to unmarshal secret: {message}"


def test_secret_map_of_missing_key() -> None:
    with pytest.raises(SecretNotFound):
        FakeStore("s", []).get_secret_map("k")


def test_get_all_secrets_greatest_version_as_string() -> None:
    s = FakeStore(
        "s",
        [
            ("app/one", "old", "9"),
            ("app/one", "new", "10"),  # "9" > "10" as strings
            ("app/two", "x", ""),
            ("other", "y", ""),
        ],
    )
    assert s.get_all_secrets("^app") == {"app_one": b"old", "app_two": b"x"}
    assert s.get_all_secrets("app", conversion="Unicode") == {
        "app_U002f_one": b"old",
        "app_U002f_two": b"x",
    }
    assert s.get_all_secrets("the") == {"other": b"y"}


def test_get_all_secrets_collision() -> None:
    s = FakeStore("s", [("a/b", "1", ""), ("a_b", "2", "")])
    with pytest.raises(StoreError, match="secret name collision during conversion: a_b"):
        s.get_all_secrets(".")


def test_convert_key() -> None:
    assert convert_key("a b/c-d.e_fé1") == "a_b_c-d.e_fé1"
    assert convert_key("a b", "Unicode") == "a_U0020_b"
    assert convert_key("a b", "None") == "a b"


def test_manager_messages() -> None:
    assert store_not_found_message("x") == (
        'could not get ClusterSecretStore "x", ClusterSecretStore.external-secrets.io "x" not found'
    )
    assert store_not_found_message("x", cached=False) == (
        'could not get ClusterSecretStore "x", '
        'clustersecretstores.external-secrets.io "x" not found'
    )
    assert store_not_ready_message("x") == 'ClusterSecretStore "x" is not ready'


@given(st.binary())
def test_any_bytes_round_trip(value: bytes) -> None:
    s = FakeStore("s", [("k", value, "")])
    assert s.get_secret_bytes("k") == value
    assert s.get_secret("k").encode("utf-8", "surrogateescape") == value

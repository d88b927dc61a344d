"""Byte-exact checks of the Go `encoding/json` + echo `c.JSON` reproduction."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockserver.gojson import go_format_float, go_json, go_string_from_bytes


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("p@ss<w>rd", b'"p@ss\\u003cw\\u003erd"\n'),
        ("a&b", b'"a\\u0026b"\n'),
        ("Not Found", b'"Not Found"\n'),
        (None, b"null\n"),
        (True, b"true\n"),
        (False, b"false\n"),
        (0, b"0\n"),
        (-17, b"-17\n"),
        ("", b'""\n'),
        ('q"b\\s', b'"q\\"b\\\\s"\n'),
        ("\b\f\n\r\t", b'"\\b\\f\\n\\r\\t"\n'),
        ("\x00\x01\x1f", b'"\\u0000\\u0001\\u001f"\n'),
        ("\x7f", b'"\x7f"\n'),
        ("/", b'"/"\n'),
        ("é€😀", '"é€😀"\n'.encode()),
        ("\u2028\u2029", b'"\\u2028\\u2029"\n'),
        ("\ufffd", '"\ufffd"\n'.encode()),
        ([], b"[]\n"),
        ({}, b"{}\n"),
        ([1, "a", None], b'[1,"a",null]\n'),
        ({"b": 1, "a": 2, "B": 3}, b'{"B":3,"a":2,"b":1}\n'),
        ({"<k>": "v"}, b'{"\\u003ck\\u003e":"v"}\n'),
    ],
)
def test_exact_bytes(value: object, expected: bytes) -> None:
    assert go_json(value) == expected


def test_keys_sorted_by_utf8_bytes_not_code_units() -> None:
    # U+FF61 sorts before U+10000 by UTF-16 code units but after it by UTF-8 bytes
    assert go_json({"\U00010000": 1, "\uff61": 2}) == '{"\uff61":2,"\U00010000":1}\n'.encode()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"ok\xff", b'"ok\\ufffd"\n'),
        (b"\xe2\x82", b'"\\ufffd\\ufffd"\n'),  # truncated sequence: one per byte
        (b"\xe2\x82A", b'"\\ufffd\\ufffdA"\n'),
        (b"\xed\xa0\x80", b'"\\ufffd\\ufffd\\ufffd"\n'),  # UTF-8-encoded surrogate
        (b"\xc0\xaf", b'"\\ufffd\\ufffd"\n'),  # overlong
        (b"\xf4\x90\x80\x80", b'"\\ufffd\\ufffd\\ufffd\\ufffd"\n'),  # above U+10FFFF
        ("é".encode(), '"é"\n'.encode()),
    ],
)
def test_bytes_are_a_go_string(data: bytes, expected: bytes) -> None:
    assert go_json(data) == expected


def test_go_string_from_bytes_replaces_per_byte() -> None:
    assert go_string_from_bytes(b"a\xe2\x82b") == "a\ufffd\ufffdb"
    assert go_string_from_bytes(b"\xed\xa0\x80") == "\ufffd" * 3
    assert go_string_from_bytes("ok€".encode()) == "ok€"
    assert json.loads(go_json(b"a\xe2\x82b")) == go_string_from_bytes(b"a\xe2\x82b")


def test_surrogateescape_str_is_the_original_bytes() -> None:
    text = b"x\xff".decode("utf-8", "surrogateescape")
    assert go_json(text) == b'"x\\ufffd"\n'


def test_pretty_matches_echo_indent() -> None:
    value = {"b": [1, {}], "a": {"x": "y"}, "c": []}
    assert go_json(value, pretty=True) == (
        b'{\n  "a": {\n    "x": "y"\n  },\n  "b": [\n    1,\n    {}\n  ],\n  "c": []\n}\n'
    )
    assert go_json("Not Found", pretty=True) == b'"Not Found"\n'
    assert go_json({}, pretty=True) == b"{}\n"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.5, "1.5"),
        (100.0, "100"),
        (0.001, "0.001"),
        (1e-6, "0.000001"),
        (1.5e-7, "1.5e-7"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (-2.5e-10, "-2.5e-10"),
        (0.1, "0.1"),
        (123456789.125, "123456789.125"),
        (-0.0, "-0"),
    ],
)
def test_float_format(value: float, expected: str) -> None:
    assert go_format_float(value) == expected
    assert go_json(value) == expected.encode() + b"\n"


def test_nan_is_rejected() -> None:
    with pytest.raises(ValueError):
        go_json(float("nan"))


_valid_text = st.text(st.characters(blacklist_categories=("Cs",)))
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | _valid_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(_valid_text, children, max_size=4)
    ),
    max_leaves=20,
)


@given(_json_values)
def test_round_trips_and_never_leaks_html(value: object) -> None:
    body = go_json(value)
    assert body.endswith(b"\n")
    assert json.loads(body) == value
    assert not set(body) & set(b"<>&")
    assert json.loads(go_json(value, pretty=True)) == value


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_round_trip(value: float) -> None:
    assert float(go_format_float(value)) == value


@given(st.binary())
def test_binary_always_valid_json(data: bytes) -> None:
    body = go_json(data)
    body.decode("utf-8")  # always valid UTF-8 on the wire
    assert json.loads(body) == go_string_from_bytes(data)


_plain_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


@given(_plain_values, st.booleans())
def test_fast_path_writes_exactly_what_the_careful_encoder_writes(value, sort_keys):
    from mockserver.gojson import _encode, go_marshal

    careful = bytearray()
    _encode(value, careful, "", 0, sort_keys)
    assert go_marshal(value, sort_keys=sort_keys) == bytes(careful)


@given(_plain_values, st.booleans())
def test_plain_path_for_known_float_free_values_matches_too(value, sort_keys):
    from mockserver.gojson import _encode, go_marshal_plain

    careful = bytearray()
    _encode(value, careful, "", 0, sort_keys)
    assert go_marshal_plain(value, sort_keys=sort_keys) == bytes(careful)


def test_maps_are_written_with_sorted_keys_by_default_at_every_depth():
    from mockserver.gojson import go_marshal, go_marshal_plain

    value = {"b": {"d": 1, "c": [2, {"f": 3, "e": 4}]}, "a": None}
    expected = b'{"a":null,"b":{"c":[2,{"e":4,"f":3}],"d":1}}'
    assert go_marshal_plain(value) == expected
    assert go_marshal(value) == expected
    # a lone surrogate is three bytes Go reads as invalid UTF-8, one U+FFFD each
    assert go_marshal_plain({"\ud800": 1, "b": 0}) == b'{"b":0,"\\ufffd\\ufffd\\ufffd":1}'
    assert (
        go_marshal_plain(value, sort_keys=False) == b'{"b":{"d":1,"c":[2,{"f":3,"e":4}]},"a":null}'
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # the first and last byte of each lead-byte range of utf8.DecodeRune, and each range's
        # lowest and highest continuation byte: valid sequences stay raw
        (b"\xdf\xbf", b'"\xdf\xbf"\n'),  # U+07FF
        (b"\xe0\xa0\x80", b'"\xe0\xa0\x80"\n'),  # U+0800
        (b"\xe1\x80\x80", b'"\xe1\x80\x80"\n'),  # U+1000
        (b"\xed\x80\x80", b'"\xed\x80\x80"\n'),  # U+D000
        (b"\xed\x9f\xbf", b'"\xed\x9f\xbf"\n'),  # U+D7FF
        (b"\xee\x80\x80", b'"\xee\x80\x80"\n'),  # U+E000
        (b"\xf0\x90\x80\x80", b'"\xf0\x90\x80\x80"\n'),  # U+10000
        (b"\xf1\x80\x80\x80", b'"\xf1\x80\x80\x80"\n'),  # U+40000
        (b"\xf4\x80\x80\x80", b'"\xf4\x80\x80\x80"\n'),  # U+100000
        (b"\xf4\x8f\xbf\xbf", b'"\xf4\x8f\xbf\xbf"\n'),  # U+10FFFF
        # a byte above a range's last continuation byte: every byte is rejected alone
        (b"\xe0\xc0\x80", b'"' + b"\\ufffd" * 3 + b'"\n'),
        (b"\xe1\xc0\x80", b'"' + b"\\ufffd" * 3 + b'"\n'),
        (b"\xe1\x80\xc0", b'"' + b"\\ufffd" * 3 + b'"\n'),
        (b"\xf0\xc0\x80\x80", b'"' + b"\\ufffd" * 4 + b'"\n'),
        (b"\xf1\xc0\x80\x80", b'"' + b"\\ufffd" * 4 + b'"\n'),
        (b"\xf1\x80\x80\xc0", b'"' + b"\\ufffd" * 4 + b'"\n'),
        (b"\xe0\x9f\xbf", b'"' + b"\\ufffd" * 3 + b'"\n'),  # overlong
        (b"\xf0\x8f\xbf\xbf", b'"' + b"\\ufffd" * 4 + b'"\n'),  # overlong
        (b"\xe1\x80\x7f", b'"\\ufffd\\ufffd\x7f"\n'),
    ],
)
def test_bytes_follow_go_utf8_decoding_at_every_range_boundary(data: bytes, expected: bytes):
    assert go_json(data) == expected


def test_line_and_paragraph_separators_are_escaped_on_the_careful_path_too():
    # bytes and pretty output are written by the careful encoder, not the stdlib fast path
    assert go_json(b"\xe2\x80\xa8|\xe2\x80\xa9|\xe2\x80\xa7") == b'"\\u2028|\\u2029|\xe2\x80\xa7"\n'
    assert go_json("\u2028\u2029", pretty=True) == b'"\\u2028\\u2029"\n'


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.0, "0"), (1.0, "1"), (5.0, "5"), (123.0, "123"), (-7.0, "-7"), (1e-7, "1e-7")],
)
def test_whole_floats_have_no_decimal_point(value: float, expected: str) -> None:
    assert go_format_float(value) == expected
    assert go_json(value) == expected.encode() + b"\n"


def test_containers_holding_floats_or_bytes_are_compact():
    value = {"b": [1.5e-7, b"\xff", 100.0], "a": 2.5, "c": {"d": 1e21}}
    assert go_json(value) == b'{"a":2.5,"b":[1.5e-7,"\\ufffd",100],"c":{"d":1e+21}}\n'
    assert go_json([{"x": 0.5}, [1.0]]) == b'[{"x":0.5},[1]]\n'


def test_integer_and_byte_map_keys_are_strings_sorted_as_strings():
    # Go's mapEncoder sorts the keys' string forms: "10" before "9"
    assert go_json({9: "b", 10: "a"}) == b'{"10":"a","9":"b"}\n'
    assert go_json({b"k\xff": 1, "a": 2}) == b'{"a":2,"k\\ufffd":1}\n'


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({True: 1}, "json: unsupported map key type bool"),
        ({(1, 2): 1}, "json: unsupported map key type tuple"),
        ({1.5: 1}, "json: unsupported map key type float"),
        (object(), "json: unsupported type: object"),
        ([{1, 2}], "json: unsupported type: set"),
    ],
)
def test_values_go_cannot_encode_are_refused(value: object, message: str) -> None:
    with pytest.raises(TypeError) as refused:
        go_json(value)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("value", "text"),
    [(float("nan"), "NaN"), (float("inf"), "+Inf"), (float("-inf"), "-Inf")],
)
def test_non_finite_floats_are_go_s_unsupported_value_error(value: float, text: str) -> None:
    with pytest.raises(ValueError) as refused:
        go_json([value])
    assert str(refused.value) == f"json: unsupported value: {text}"


def test_pretty_indents_nested_arrays_by_depth():
    value = [[1, [2]], {"a": [3]}]
    assert go_json(value, pretty=True) == (
        b'[\n  [\n    1,\n    [\n      2\n    ]\n  ],\n  {\n    "a": [\n      3\n    ]\n  }\n]\n'
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (float("nan"), "NaN"),
        (float("inf"), "+Inf"),
        (float("-inf"), "-Inf"),
        (0.0, "0"),
        (-0.0, "-0"),
        (1.0, "1"),
        (-2.5, "-2.5"),
        (123.0, "123"),
        (0.001, "0.001"),
        (1.5e-7, "0.00000015"),
        (1e21, "1000000000000000000000"),
        (-1.25e22, "-12500000000000000000000"),
    ],
)
def test_format_float_f_is_strconv_f_minus_one(value: float, expected: str) -> None:
    from mockserver.gojson import go_format_float_f

    assert go_format_float_f(value) == expected


def test_decode_go_runes_gives_each_rejected_byte_a_width_of_one():
    from mockserver.gojson import decode_go_runes

    assert decode_go_runes(b"a\xe2\x82\xac\xff") == [(0, 1, True), (1, 3, True), (4, 1, False)]
    assert decode_go_runes(b"\xe2\x82") == [(0, 1, False), (1, 1, False)]
    assert decode_go_runes(b"\xf0\x9f\x98\x80") == [(0, 4, True)]

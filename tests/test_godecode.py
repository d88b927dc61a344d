"""mockserver.godecode: Go's encoding/json reading, texts from golang/go scanner.go/decode.go."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver import godecode
from mockserver.godecode import GoEndOfInput, GoJSONError, GoSyntaxError, GoTypeError

REVOKE = ("owner", "namespace")

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values, st.sampled_from([None, 0, 2]))
def test_agrees_with_the_stdlib_on_safe_input(value, indent):
    data = json.dumps(value, indent=indent).encode()
    assert godecode.unmarshal(data) == json.loads(data)
    assert godecode.parse(data).value == json.loads(data)
    assert godecode.decode_first(data).value == json.loads(data)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["owner", "Owner", "namespace", "x"]), json_values))
def test_string_struct_fast_and_careful_paths_agree(value):
    data = json.dumps(value).encode()
    outcomes = []
    for stream in (False, True):
        try:
            outcomes.append(godecode.string_fields(data, REVOKE, "T", struct="T", stream=stream))
        except GoTypeError as exc:
            outcomes.append(str(exc))
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize(
    ("data", "message", "offset"),
    [
        (b"[" * 10001, "invalid character '[' exceeded max depth", 10001),
        (b'{"a":' * 10001, "invalid character '{' exceeded max depth", 50001),
        (b"", "unexpected end of JSON input", 0),
        (b" \n", "unexpected end of JSON input", 0),
        (b'{"a": 1', "unexpected end of JSON input", 7),
        (b"x", "invalid character 'x' looking for beginning of value", 1),
        (b"'a'", "invalid character '\\'' looking for beginning of value", 1),
        (b"{} {}", "invalid character '{' after top-level value", 4),
        (b'{"a" 1}', "invalid character '1' after object key", 6),
        (b'{"a":1 "b"}', "invalid character '\"' after object key:value pair", 8),
        (b"[1 2]", "invalid character '2' after array element", 4),
        (b'{"a":1,}', "invalid character '}' looking for beginning of object key string", 8),
        (b'"a\tb"', "invalid character '\\t' in string literal", 3),
        (b'"\\q"', "invalid character 'q' in string escape code", 3),
        (b'"\\u12x4"', "invalid character 'x' in \\u hexadecimal character escape", 6),
        (b"nul!", "invalid character '!' in literal null (expecting 'l')", 4),
        (b"-x", "invalid character 'x' in numeric literal", 2),
        (b"1.x", "invalid character 'x' after decimal point in numeric literal", 3),
        (b"1e+", "invalid character ' ' in exponent of numeric literal", 3),
        (b"tru", "invalid character ' ' in literal true (expecting 'e')", 3),
        (b"NaN", "invalid character 'N' looking for beginning of value", 1),
        (b"\xff", "invalid character '\u00ff' looking for beginning of value", 1),
    ],
)
def test_syntax_errors_are_go_scanner_texts(data, message, offset):
    with pytest.raises(GoSyntaxError) as caught:
        godecode.unmarshal(data)
    assert (str(caught.value), caught.value.offset) == (message, offset)


def test_nesting_up_to_the_limit_is_accepted_without_recursion():
    deep = b"[" * 10000 + b"]" * 10000
    value = godecode.unmarshal(deep)
    for _ in range(9999):
        (value,) = value
    assert value == []


def test_numbers_of_any_length_decode_as_go_float64_does():
    assert godecode.unmarshal(b"1" * 309) == int("1" * 309)
    assert godecode.unmarshal(b"0." + b"0" * 5000 + b"1") == 0.0
    huge = "9" * 5000
    with pytest.raises(GoTypeError) as caught:
        godecode.unmarshal(f'{{"exp": {huge}}}'.encode())
    assert (
        str(caught.value) == f"json: cannot unmarshal number {huge} into Go value of type float64"
    )
    with pytest.raises(GoTypeError, match=r"^json: cannot unmarshal number 1e400 into Go value"):
        godecode.unmarshal(b"[1e400]")
    # A struct of strings skips members it has no field for, however large their numbers are.
    assert godecode.string_fields(f'{{"n": {huge}}}'.encode(), REVOKE, "T") == {
        "owner": "",
        "namespace": "",
    }


def test_syntax_errors_win_over_earlier_number_overflow():
    with pytest.raises(GoSyntaxError, match="after array element"):
        godecode.unmarshal(b"[1e400 2]")


def test_strings_replace_lone_surrogates_and_invalid_utf8():
    assert godecode.unmarshal(b'["\\ud800", "\\ud83d\\ude00", "a\xffb"]') == [
        "\ufffd",
        "\U0001f600",
        "a\ufffdb",
    ]
    assert math.isclose(godecode.unmarshal(b"1.5e3"), 1500.0)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "EOF"),
        (b"  \n", "EOF"),
        (b'{"owner":', "unexpected EOF"),
        (b"tru", "unexpected EOF"),
    ],
)
def test_decoder_reports_end_of_input_as_io_errors(data, message):
    with pytest.raises(GoEndOfInput, match=f"^{message}$"):
        godecode.decode_first(data)


def test_decoder_reads_the_first_value_only():
    assert godecode.decode_first(b'{"a":1} trailing').value == {"a": 1}
    with pytest.raises(GoSyntaxError, match="after top-level value"):
        godecode.parse(b'{"a":1} trailing')


@pytest.mark.parametrize(
    ("data", "message", "offset"),
    [
        (b"[1]", "json: cannot unmarshal array into Go value of type T", 1),
        (b'"x"', "json: cannot unmarshal string into Go value of type T", 3),
        (
            b'{"owner":12}',
            "json: cannot unmarshal number into Go struct field T.owner of type string",
            11,
        ),
        (
            b'{"OWNER":{}}',
            "json: cannot unmarshal object into Go struct field T.owner of type string",
            10,
        ),
    ],
)
def test_string_struct_type_errors_carry_go_offsets(data, message, offset):
    with pytest.raises(GoTypeError) as caught:
        godecode.string_fields(data, REVOKE, "T", struct="T", stream=True)
    assert (str(caught.value), caught.value.offset) == (message, offset)


def test_string_struct_keys_fold_case_and_the_last_member_wins():
    data = b'{"owner":"a","OWNER":"b","namespace":null}'
    assert godecode.string_fields(data, REVOKE, "T") == {"owner": "b", "namespace": ""}
    with pytest.raises(GoTypeError):
        godecode.string_fields(b'{"owner":5,"owner":"a"}', REVOKE, "T")
    assert godecode.string_fields(b"null", REVOKE, "T") == {"owner": "", "namespace": ""}


def test_every_error_is_one_value_error_type():
    for data in (b"[" * 20000, b"{", b'{"a":1e999}'):
        with pytest.raises(GoJSONError):
            godecode.unmarshal(data)


@pytest.mark.parametrize(
    ("byte", "quoted"),
    [(7, "\\a"), (8, "\\b"), (9, "\\t"), (10, "\\n"), (11, "\\v"), (12, "\\f"), (13, "\\r")],
)
def test_control_bytes_in_strings_are_quoted_as_go_quotes_runes(byte, quoted):
    with pytest.raises(GoSyntaxError) as refused:
        godecode.unmarshal(b'"' + bytes([byte]) + b'"')
    assert str(refused.value) == f"invalid character '{quoted}' in string literal"


def test_a_number_beyond_float64_is_a_type_error_even_when_the_stdlib_could_read_it():
    digits = "9" * 309
    with pytest.raises(GoTypeError) as refused:
        godecode.unmarshal(digits.encode())
    assert (
        str(refused.value)
        == f"json: cannot unmarshal number {digits} into Go value of type float64"
    )
    assert godecode.unmarshal(b"1" + b"0" * 307) == 10**307


def test_lone_surrogate_escapes_become_the_replacement_character():
    assert godecode.unmarshal(b'"\\ud800"') == "\ufffd"
    assert godecode.unmarshal(b'"a\\uDBFFb"') == "a\ufffdb"
    assert godecode.unmarshal(b'"\\ud83d\\ude00"') == "\U0001f600"


def test_error_defaults_offset_zero_and_a_plain_go_value():
    assert GoJSONError("m").offset == 0
    error = GoTypeError("number", "string", 3)
    assert (str(error), error.field, error.offset) == (
        "json: cannot unmarshal number into Go value of type string",
        "",
        3,
    )


@pytest.mark.parametrize(
    ("data", "message", "offset"),
    [
        # a complete number followed by '.', 'e' or 'E' ends there: the next byte is judged as
        # what follows a value (scanner.go stateEndValue), never as part of the number
        (b"1.5.", "invalid character '.' after top-level value", 4),
        (b"1e5e", "invalid character 'e' after top-level value", 4),
        (b"[1.5.]", "invalid character '.' after array element", 5),
        (b'{"a":1e5E}', "invalid character 'E' after object key:value pair", 9),
        (b"1X", "invalid character 'X' after top-level value", 2),
        # inside a number
        (b"-0.", "invalid character ' ' after decimal point in numeric literal", 3),
        (b"-9.", "invalid character ' ' after decimal point in numeric literal", 3),
        (b"1.:", "invalid character ':' after decimal point in numeric literal", 3),
        (b"1e", "invalid character ' ' in exponent of numeric literal", 2),
        (b"0.5e", "invalid character ' ' in exponent of numeric literal", 4),
        (b"0.25E+", "invalid character ' ' in exponent of numeric literal", 6),
        (b"1ex", "invalid character 'x' in exponent of numeric literal", 3),
        (b"1eX", "invalid character 'X' in exponent of numeric literal", 3),
        (b"1e-x", "invalid character 'x' in exponent of numeric literal", 4),
        (b"-", "invalid character ' ' in numeric literal", 1),
        (b":", "invalid character ':' looking for beginning of value", 1),
        # strings cut short or holding a bad byte after good ones
        (b'"abc', "unexpected end of JSON input", 4),
        (b'"a b\x01"', "invalid character '\\x01' in string literal", 5),
        (b'"a#\x01"', "invalid character '\\x01' in string literal", 4),
        (b'"\\', "invalid character ' ' in string escape code", 2),
        (b'"\\X"', "invalid character 'X' in string escape code", 3),
        (b'"\\ux123"', "invalid character 'x' in \\u hexadecimal character escape", 4),
        (b'"\\u12X4"', "invalid character 'X' in \\u hexadecimal character escape", 6),
        (b'"\\u12', "invalid character ' ' in \\u hexadecimal character escape", 5),
        (b'"\\u1234\x01"', "invalid character '\\x01' in string literal", 8),
        (b'{"a"', "unexpected end of JSON input", 4),
        # go_quote_char: control bytes, DEL, the space, and bytes above 0x7f as the rune U+00XX
        (b"\x01", "invalid character '\\x01' looking for beginning of value", 1),
        (b"\x1f", "invalid character '\\x1f' looking for beginning of value", 1),
        (b"\x7f", "invalid character '\\x7f' looking for beginning of value", 1),
        (b"#", "invalid character '#' looking for beginning of value", 1),
        (b"t rue", "invalid character ' ' in literal true (expecting 'r')", 2),
        (b"\x80", "invalid character '\\u0080' looking for beginning of value", 1),
        (b"\x9f", "invalid character '\\u009f' looking for beginning of value", 1),
        (b"\xa0", "invalid character '\\u00a0' looking for beginning of value", 1),
        (b"\xad", "invalid character '\\u00ad' looking for beginning of value", 1),
        (b"\xe9", "invalid character '\u00e9' looking for beginning of value", 1),
    ],
)
def test_more_syntax_errors_are_go_scanner_texts(data, message, offset):
    with pytest.raises(GoSyntaxError) as caught:
        godecode.unmarshal(data)
    assert (str(caught.value), caught.value.offset) == (message, offset)


@pytest.mark.parametrize(
    ("data", "message"),
    [(b'"\\', "unexpected EOF"), (b'"\\u12', "unexpected EOF"), (b'"ab', "unexpected EOF")],
)
def test_decoder_reports_a_cut_string_as_unexpected_eof(data, message):
    with pytest.raises(GoEndOfInput) as caught:
        godecode.decode_first(data)
    assert (str(caught.value), caught.value.offset) == (message, len(data))


def test_decoder_end_of_input_is_eof_at_offset_zero():
    with pytest.raises(GoEndOfInput) as caught:
        godecode.decode_first(b" \t")
    assert (str(caught.value), caught.value.offset) == ("EOF", 0)


@pytest.mark.parametrize(
    ("data", "text"),
    [
        # Go's unquote replaces each byte utf8.DecodeRune rejects, a cut sequence byte by byte
        (b'"\xe2\x82"', "\ufffd\ufffd"),
        (b'"a\xf0\x9f\x98b"', "a\ufffd\ufffd\ufffdb"),
        (b'"\xe2\x82\\n"', "\ufffd\ufffd\n"),
        (b'"\xed\xa0\x80"', "\ufffd\ufffd\ufffd"),
        (b'"\xc0\xaf"', "\ufffd\ufffd"),
        (b'"\xe2\x82\xac"', "\u20ac"),
    ],
)
def test_invalid_utf8_in_strings_becomes_one_replacement_per_byte(data, text):
    assert godecode.unmarshal(data) == text
    assert godecode.decode_first(data).value == text
    assert godecode.string_fields(b'{"owner":' + data + b"}", REVOKE, "T") == {
        "owner": text,
        "namespace": "",
    }


def test_exponents_with_a_capital_e_on_the_careful_path():
    # the Decoder never takes the stdlib path
    assert godecode.decode_first(b"1E2").value == 100.0
    assert godecode.decode_first(b"[2.5E-1]").value == [0.25]


def test_kinds_are_go_s_names():
    values = ("s", True, False, {}, [], None, 1, 1.5)
    assert [godecode.kind_of(v) for v in values] == [
        "string",
        "bool",
        "bool",
        "object",
        "array",
        "null",
        "number",
        "number",
    ]
    with pytest.raises(GoTypeError) as caught:
        godecode.string_fields(b'{"owner":true}', REVOKE, "T", struct="T", stream=True)
    assert (
        str(caught.value)
        == "json: cannot unmarshal bool into Go struct field T.owner of type string"
    )


def test_a_null_document_leaves_every_field_empty_in_the_decoder_too():
    assert godecode.string_fields(b"null", REVOKE, "T", stream=True) == {
        "owner": "",
        "namespace": "",
    }
    assert godecode.string_fields(b" null trailing", REVOKE, "T", stream=True) == {
        "owner": "",
        "namespace": "",
    }


def test_error_attributes():
    assert GoJSONError("m", 4).message == "m"
    # UnmarshalTypeError.Error() names "Go struct field" once Field is set, even with no Struct
    error = GoTypeError("number", "string", 3, field="f")
    assert str(error) == "json: cannot unmarshal number into Go struct field .f of type string"

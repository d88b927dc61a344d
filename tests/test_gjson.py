"""gjson path evaluation and `Result.String()` text, as the fake provider's `property` sees it."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockserver.backends.gjson import ResultType, get

DOC = """{
  "name": {"first": "Tom", "last": "Anderson"},
  "age": 37,
  "ratio": 1.50,
  "big": 1e3,
  "neg": -0,
  "negf": -0.0,
  "huge": 12345678901234567890,
  "children": ["Sara", "Alex", "Jack"],
  "fav.movie": "Deer Hunter",
  "friends": [
    {"first": "Dale", "last": "Murphy", "age": 44, "nets": ["ig", "fb", "tw"]},
    {"first": "Roger", "last": "Craig", "age": 68, "nets": ["fb", "tw"]},
    {"first": "Jane", "last": "Murphy", "age": 47, "nets": ["ig", "tw"]}
  ],
  "empty": [],
  "obj": { "a" : [1, 2] , "b":null },
  "t": true, "f": false, "n": null,
  "esc": "a\\"b\\\\c\\u00e9\\ud83d\\ude00\\n",
  "lone": "x\\ud800y",
  "html": "<&>"
}"""


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("name.last", "Anderson"),
        ("age", "37"),
        ("ratio", "1.5"),
        ("big", "1000"),
        ("neg", "-0"),
        ("negf", "-0"),
        ("huge", "12345678901234567890"),
        ("children", '["Sara", "Alex", "Jack"]'),
        ("children.#", "3"),
        ("children.1", "Alex"),
        ("child*.2", "Jack"),
        ("c?ildren.0", "Sara"),
        ("fav\\.movie", "Deer Hunter"),
        ("friends.#.first", '["Dale","Roger","Jane"]'),
        ("friends.1.last", "Craig"),
        ("friends.#.nets", '[["ig", "fb", "tw"],["fb", "tw"],["ig", "tw"]]'),
        ("friends.#.nets.#", "[3,2,2]"),
        ("friends.#.age", "[44,68,47]"),
        ("friends.#.missing", "[]"),
        ("empty.#", "0"),
        ("obj", '{ "a" : [1, 2] , "b":null }'),
        ("obj.a", "[1, 2]"),
        ("obj.b", ""),
        ("t", "true"),
        ("f", "false"),
        ("n", ""),
        ("esc", 'a"b\\c\u00e9\U0001f600\n'),
        ("lone", "x\ufffdy"),
        ("html", "<&>"),
    ],
)
def test_string_of_existing_results(path: str, expected: str) -> None:
    result = get(DOC, path)
    assert result.exists
    assert result.string() == expected


@pytest.mark.parametrize(
    "path",
    ["missing", "name.middle", "children.3", "children.x", "age.x", "fav.movie", "friends.-1"],
)
def test_missing_paths(path: str) -> None:
    result = get(DOC, path)
    assert not result.exists
    assert result.string() == ""


def test_null_exists_but_prints_empty() -> None:
    result = get(DOC, "n")
    assert result.exists
    assert result.type is ResultType.NULL
    assert result.raw == "null"


def test_first_resolving_duplicate_wins() -> None:
    doc = '{"a": {"x": 1}, "a": {"y": 2}, "a": 3}'
    assert get(doc, "a.y").string() == "2"
    assert get(doc, "a").string() == '{"x": 1}'


def test_document_starts_at_first_brace_and_scalars_have_no_paths() -> None:
    assert get('garbage {"k": "v"}', "k").string() == "v"
    assert not get('"just a string"', "k").exists
    assert not get("plain text", "k").exists
    assert get('[{"k": 1}]', "0.k").string() == "1"
    assert get("[1, 2.50, 3]", "1").string() == "2.5"


def test_wildcard_takes_first_match_in_document_order() -> None:
    assert get('{"b1": "x", "a1": "y"}', "?1").string() == "x"
    assert get('{"a*b": 1, "aXb": 2}', "a\\*b").string() == "1"


def test_number_formats() -> None:
    assert get('{"v": 1E2}', "v").string() == "100"
    assert get('{"v": 0.000001}', "v").string() == "0.000001"
    assert get('{"v": 1.5e-7}', "v").string() == "0.00000015"
    assert get('{"v": 1e400}', "v").string() == "+Inf"
    assert get('{"v": -12}', "v").string() == "-12"


_keys = st.text(st.characters(min_codepoint=0x61, max_codepoint=0x7A), min_size=1, max_size=5)


@given(st.dictionaries(_keys, st.text(max_size=10) | st.integers(), min_size=1))
def test_top_level_members_match_python_json(doc: dict) -> None:
    text = json.dumps(doc)
    for key, value in doc.items():
        assert get(text, key).string() == str(value)

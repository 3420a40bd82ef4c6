"""Argument validation against a tool's inputSchema, before any upstream call."""

from __future__ import annotations

from typing import Any

from virtualize.runtime.arguments import ArgumentCheck
from virtualize.runtime.outcomes import Failure, pointer

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 100},
        "birthDate": {"type": "string", "format": "date"},
        "filter": {
            "type": "object",
            "properties": {"status": {"enum": ["available", "sold"]}, "a/b": {"type": "integer"}},
        },
        "owner": {"$ref": "#/$defs/Owner"},
    },
    "required": ["name"],
    "additionalProperties": False,
    "$defs": {"Owner": {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}},
}


def _failure(arguments: dict[str, Any] | None) -> Failure:
    outcome = ArgumentCheck(SCHEMA).check(arguments)
    assert isinstance(outcome, Failure)
    assert outcome.category == "invalid_arguments"
    return outcome


def test_valid_arguments_pass_through_unchanged() -> None:
    assert ArgumentCheck(SCHEMA).check({"name": "Rex", "limit": 5}) == {"name": "Rex", "limit": 5}


def test_numbers_with_a_zero_fraction_are_passed_on_as_integers_at_any_depth() -> None:
    checked = ArgumentCheck(SCHEMA).check({"name": "Rex", "limit": 5.0, "owner": {"id": 7.0}, "filter": {"a/b": -0.0}})

    assert checked == {"name": "Rex", "limit": 5, "owner": {"id": 7}, "filter": {"a/b": 0}}
    assert isinstance(checked, dict)
    assert [type(v) for v in (checked["limit"], checked["owner"]["id"], checked["filter"]["a/b"])] == [int, int, int]
    listed = ArgumentCheck({"type": "object"}).check({"xs": [1.5, 2.0, [3.0]], "flag": True})
    assert listed == {"xs": [1.5, 2, [3]], "flag": True}
    assert isinstance(listed, dict) and listed["flag"] is True and type(listed["xs"][1]) is int


def test_a_violation_names_the_field_by_json_pointer() -> None:
    failure = _failure({"name": "Rex", "limit": 500})
    assert [d["path"] for d in failure.details] == ["/limit"]
    assert failure.message.startswith("argument /limit: 500 is greater than the maximum of 100")


def test_a_nested_violation_names_the_nested_path() -> None:
    failure = _failure({"name": "Rex", "filter": {"status": "lost"}})
    assert [d["path"] for d in failure.details] == ["/filter/status"]


def test_a_missing_required_field_is_reported_at_its_own_path_also_through_a_ref() -> None:
    failure = _failure({"owner": {}})
    assert [(d["path"], d["message"]) for d in failure.details] == [
        ("/name", "is required"),
        ("/owner/id", "is required"),
    ]


def test_an_unknown_argument_is_named() -> None:
    failure = _failure({"name": "Rex", "colour": "red"})
    assert [(d["path"], d["keyword"]) for d in failure.details] == [("/colour", "additionalProperties")]


def test_formats_are_checked() -> None:
    failure = _failure({"name": "Rex", "birthDate": "yesterday"})
    assert [d["path"] for d in failure.details] == ["/birthDate"]


def test_pointers_escape_slashes_and_tildes_as_rfc_6901_says() -> None:
    assert pointer(["filter", "a/b", "x~y", 0]) == "/filter/a~1b/x~0y/0"
    failure = _failure({"name": "Rex", "filter": {"a/b": "one"}})
    assert failure.details[0]["path"] == "/filter/a~1b"


def test_missing_arguments_are_an_empty_object() -> None:
    assert ArgumentCheck({"type": "object"}).check(None) == {}
    assert [d["path"] for d in _failure(None).details] == ["/name"]


def test_pinned_values_are_merged_after_validation_and_win() -> None:
    check = ArgumentCheck({"type": "object", "properties": {"a": {"type": "integer"}}}, {"tenant": "acme", "a": 2})
    assert check.check({"a": 1}) == {"a": 2, "tenant": "acme"}


def test_several_violations_are_all_reported_in_path_order() -> None:
    failure = _failure({"limit": 0, "filter": {"status": 1}})
    assert [d["path"] for d in failure.details] == ["/filter/status", "/limit", "/name"]
    assert "(and 2 more)" in failure.message


def test_a_field_of_an_optional_body_names_the_fields_it_needs() -> None:
    schema = {
        "type": "object",
        "properties": {"ids": {"type": "array"}, "type": {"type": "string"}, "note": {"type": "string"}},
        "dependentRequired": {"ids": ["type"], "type": ["ids"], "note": ["ids", "type"]},
    }
    check = ArgumentCheck(schema)
    assert check.check({}) == {}
    assert check.check({"ids": [], "type": "card"}) == {"ids": [], "type": "card"}
    outcome = check.check({"note": "n", "ids": []})
    assert isinstance(outcome, Failure)
    assert outcome.message == "argument /type: is required once 'ids' is given"
    assert [(d["path"], d["keyword"]) for d in outcome.details] == [("/type", "required")]


def test_openapi_byte_strings_must_be_base64() -> None:
    check = ArgumentCheck({"type": "object", "properties": {"cavv": {"type": "string", "format": "byte"}}})
    for good in ("", "aGk=", "aGVsbG8=", "AAECAw==", "+/+/"):
        assert check.check({"cavv": good}) == {"cavv": good}
    for bad in ("hello!", "aGk", "aGk=\n", "a-_b"):
        outcome = check.check({"cavv": bad})
        assert isinstance(outcome, Failure), bad
        assert [(d["path"], d["keyword"]) for d in outcome.details] == [("/cavv", "format")]

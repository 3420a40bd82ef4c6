"""Proto messages to JSON Schema 2020-12, per the proto3 JSON mapping (IR level)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.grpc_upstream import EVERY_TYPE_PROTO
from virtualize.adapters import AdapterOptions, load_api
from virtualize.diagnostics import Diagnostics
from virtualize.ir import Api, Location

RECORD = "virtualize.golden.v1.Record"


@pytest.fixture(scope="module")
def api() -> Api:
    diagnostics = Diagnostics()
    result = load_api(EVERY_TYPE_PROTO, AdapterOptions(target="localhost:50051"), diagnostics)
    assert result is not None, diagnostics.items
    assert diagnostics.items == ()
    return result


def record_property(api: Api, name: str) -> Any:
    return api.defs[RECORD]["properties"][name]


def test_record_fields_are_named_by_json_name_and_also_by_their_original_name(api: Api) -> None:
    properties = api.defs[RECORD]["properties"]
    assert "anInt64" in properties
    assert properties["an_int64"] == {"type": ["string", "integer"], "pattern": "^-?[0-9]+$"}
    assert "name" in properties  # json_name and name agree: listed once


@pytest.mark.parametrize(
    ("field", "schema"),
    [
        ("anInt32", {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}),
        ("aSint32", {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}),
        ("aUint32", {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}),
        ("aFixed32", {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}),
        ("anInt64", {"type": ["string", "integer"], "pattern": "^-?[0-9]+$"}),
        ("anSfixed64", {"type": ["string", "integer"], "pattern": "^-?[0-9]+$"}),
        ("aUint64", {"type": ["string", "integer"], "pattern": "^[0-9]+$", "minimum": 0}),
        ("aDouble", {"type": ["number", "string"], "pattern": "^(NaN|-?Infinity)$"}),
        ("aFloat", {"type": ["number", "string"], "pattern": "^(NaN|-?Infinity)$"}),
        ("aBool", {"type": "boolean"}),
        ("someBytes", {"type": "string", "contentEncoding": "base64"}),
        ("state", {"$ref": "#/$defs/virtualize.golden.v1.Record.State"}),
        ("tags", {"type": "array", "items": {"type": "string"}}),
        (
            "counters",
            {"type": "object", "additionalProperties": {"type": ["string", "integer"], "pattern": "^-?[0-9]+$"}},
        ),
        ("children", {"type": "array", "items": {"$ref": f"#/$defs/{RECORD}"}}),
        ("etag", {"type": "string", "readOnly": True}),
        ("secret", {"type": "string", "writeOnly": True}),
        ("legacy", {"type": "string", "deprecated": True}),
        ("labels", {"type": "object"}),
        ("values", {"type": "array"}),
        ("nothing", {"type": "object", "properties": {}, "additionalProperties": False}),
        ("maybeInt64", {"type": ["string", "integer", "null"], "pattern": "^-?[0-9]+$"}),
        ("maybeInt32", {"type": ["integer", "null"], "minimum": -(2**31), "maximum": 2**31 - 1}),
        ("maybeBool", {"type": ["boolean", "null"]}),
        ("maybeBytes", {"type": ["string", "null"], "contentEncoding": "base64"}),
        ("alwaysNull", {"type": "null"}),
    ],
)
def test_each_proto_type_maps_to_its_proto3_json_schema(api: Api, field: str, schema: dict[str, Any]) -> None:
    assert record_property(api, field) == schema


def test_well_known_types_take_their_special_json_forms(api: Api) -> None:
    assert record_property(api, "createTime")["format"] == "date-time"
    assert record_property(api, "ttl")["pattern"] == "^-?[0-9]+(\\.[0-9]{1,9})?s$"
    assert record_property(api, "mask")["type"] == "string"
    assert record_property(api, "detail")["required"] == ["@type"]
    assert "additionalProperties" not in record_property(api, "detail")  # the packed message's fields
    assert "null" in record_property(api, "extra")["type"]


def test_enums_are_value_names_with_their_comments(api: Api) -> None:
    assert api.defs[f"{RECORD}.State"] == {
        "type": "string",
        "enum": ["STATE_UNSPECIFIED", "ACTIVE", "ARCHIVED"],
        "description": "Lifecycle of a record.\n\n- ACTIVE: Visible to readers.",
    }


def test_messages_are_closed_objects_and_recursion_goes_through_defs(api: Api) -> None:
    record = api.defs[RECORD]
    assert record["additionalProperties"] is False
    assert record_property(api, "parent")["$ref"] == f"#/$defs/{RECORD}"
    assert record_property(api, "childrenById")["additionalProperties"] == {"$ref": f"#/$defs/{RECORD}"}
    assert "Keys are integers written as strings." in record_property(api, "childrenById")["description"]


def test_nothing_is_required_but_field_behavior_required(api: Api) -> None:
    assert "required" not in api.defs[RECORD]  # oneof members, optional, plain fields: all optional
    get = next(op for op in api.operations if op.key.endswith("/GetRecord"))
    assert [(a.name, a.required) for a in get.arguments] == [("name", True), ("readMask", False), ("read_mask", False)]


def test_oneof_members_are_optional_and_say_they_exclude_each_other(api: Api) -> None:
    note = "One of `owner`: set at most one of userId, groupId."
    assert record_property(api, "userId")["description"] == note
    assert record_property(api, "groupId")["description"] == note
    assert "description" not in record_property(api, "nickname")  # proto3 optional: not a real oneof


def test_request_fields_become_field_arguments_with_their_comments(api: Api) -> None:
    get = next(op for op in api.operations if op.key.endswith("/GetRecord"))
    name = get.arguments[0]
    assert name.location is Location.FIELD
    assert name.description == 'The record\'s resource name, "records/{id}".'
    assert name.schema_ == {"type": "string"}


def test_a_proto_with_a_syntax_error_reports_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.proto"
    broken.write_text('syntax = "proto3";\nmessage A {\n  strin x = 1;\n}\n', encoding="utf-8")
    diagnostics = Diagnostics()

    assert load_api(broken, AdapterOptions(), diagnostics) is None
    [error] = diagnostics.errors
    assert (error.file, error.line) == (str(broken), 3)
    assert "strin" in error.message


def test_a_missing_import_names_the_flag_that_fixes_it(tmp_path: Path) -> None:
    proto = tmp_path / "svc.proto"
    proto.write_text('syntax = "proto3";\nimport "other/dep.proto";\nservice S {}\n', encoding="utf-8")
    diagnostics = Diagnostics()

    assert load_api(proto, AdapterOptions(), diagnostics) is None
    assert any("-I" in d.hint for d in diagnostics.errors)


def test_a_proto_without_services_is_an_error(tmp_path: Path) -> None:
    proto = tmp_path / "types.proto"
    proto.write_text('syntax = "proto3";\nmessage A { string x = 1; }\n', encoding="utf-8")
    diagnostics = Diagnostics()

    assert load_api(proto, AdapterOptions(), diagnostics) is None
    assert diagnostics.errors[0].message == "no service methods to turn into tools"


def test_a_file_that_is_not_a_descriptor_set_is_an_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.binpb"
    bogus.write_bytes(b"\xff\xff\xff not protobuf")
    diagnostics = Diagnostics()

    assert load_api(bogus, AdapterOptions(), diagnostics) is None
    assert diagnostics.errors[0].message == "not a binary FileDescriptorSet"

"""Parameter and body serialization, checked against the OpenAPI 3.1 §4.8.12.4 style examples."""

from __future__ import annotations

import base64

import pytest

from virtualize.runtime.invokers.http_serialization import (
    ArgumentProblem,
    Param,
    cookie_pairs,
    decode_binary,
    form_body,
    header_value,
    multipart_body,
    path_value,
    query_pairs,
    raw_body,
)

PRIMITIVE = "blue"
ARRAY = ["blue", "black", "brown"]
OBJECT = {"R": 100, "G": 200, "B": 150}


def param(style: str, explode: bool, **extra: object) -> Param:
    return Param(argument="color", name="color", style=style, explode=explode, **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("style", "explode", "value", "expected"),
    [
        ("simple", False, PRIMITIVE, "blue"),
        ("simple", False, ARRAY, "blue,black,brown"),
        ("simple", False, OBJECT, "R,100,G,200,B,150"),
        ("simple", True, OBJECT, "R=100,G=200,B=150"),
        ("label", False, PRIMITIVE, ".blue"),
        ("label", False, ARRAY, ".blue,black,brown"),
        ("label", True, ARRAY, ".blue.black.brown"),
        ("label", False, OBJECT, ".R,100,G,200,B,150"),
        ("label", True, OBJECT, ".R=100.G=200.B=150"),
        ("matrix", False, PRIMITIVE, ";color=blue"),
        ("matrix", False, ARRAY, ";color=blue,black,brown"),
        ("matrix", True, ARRAY, ";color=blue;color=black;color=brown"),
        ("matrix", False, OBJECT, ";color=R,100,G,200,B,150"),
        ("matrix", True, OBJECT, ";R=100;G=200;B=150"),
    ],
)
def test_path_styles_follow_the_openapi_examples(style: str, explode: bool, value: object, expected: str) -> None:
    assert path_value(param(style, explode), value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("../admin", "..%2Fadmin"),
        ("...", "..."),
        ("a/b?c#d", "a%2Fb%3Fc%23d"),
        ("%2F", "%252F"),
        ("@evil.example", "%40evil.example"),
        ("http://evil.example/x", "http%3A%2F%2Fevil.example%2Fx"),
        ("ü ñ", "%C3%BC%20%C3%B1"),
    ],
)
def test_path_values_cannot_add_segments_or_change_the_host(value: str, expected: str) -> None:
    assert path_value(param("simple", False), value) == expected


@pytest.mark.parametrize("value", ["", [], [""], ["", ""]])
def test_empty_path_values_are_refused_rather_than_routing_elsewhere(value: object) -> None:
    with pytest.raises(ArgumentProblem) as raised:
        path_value(param("simple", False), value)
    assert raised.value.path == "/color"


@pytest.mark.parametrize(
    ("style", "explode", "value", "expected"),
    [
        ("form", True, PRIMITIVE, ["color=blue"]),
        ("form", True, ARRAY, ["color=blue", "color=black", "color=brown"]),
        ("form", False, ARRAY, ["color=blue,black,brown"]),
        ("form", True, OBJECT, ["R=100", "G=200", "B=150"]),
        ("form", False, OBJECT, ["color=R,100,G,200,B,150"]),
        ("spaceDelimited", False, ARRAY, ["color=blue%20black%20brown"]),
        ("spaceDelimited", False, OBJECT, ["color=R%20100%20G%20200%20B%20150"]),
        ("pipeDelimited", False, ARRAY, ["color=blue%7Cblack%7Cbrown"]),
        ("pipeDelimited", False, OBJECT, ["color=R%7C100%7CG%7C200%7CB%7C150"]),
        ("deepObject", True, OBJECT, ["color%5BR%5D=100", "color%5BG%5D=200", "color%5BB%5D=150"]),
        ("form", True, None, ["color="]),
        ("form", True, True, ["color=true"]),
        ("form", True, 1.5, ["color=1.5"]),
    ],
)
def test_query_styles_follow_the_openapi_examples(
    style: str, explode: bool, value: object, expected: list[str]
) -> None:
    assert query_pairs(param(style, explode), value) == expected


def test_query_values_encode_their_delimiters_so_items_stay_apart() -> None:
    assert query_pairs(param("form", False), ["a,b", "c&d=e"]) == ["color=a%2Cb,c%26d%3De"]


def test_allow_reserved_keeps_reserved_characters_that_do_not_split_the_query() -> None:
    assert query_pairs(param("form", True, allow_reserved=True), "/a:b?c&d") == ["color=/a:b?c%26d"]


def test_nested_deep_objects_nest_their_brackets_and_repeat_array_members() -> None:
    value = {"owner": {"name": "x"}, "tags": ["a", "b"]}
    assert query_pairs(param("deepObject", True), value) == [
        "color%5Bowner%5D%5Bname%5D=x",
        "color%5Btags%5D=a",
        "color%5Btags%5D=b",
    ]


def test_content_typed_parameters_are_sent_as_compact_json() -> None:
    json_param = param("form", True, content_type="application/json")
    assert query_pairs(json_param, {"a": [1, 2]}) == ["color=%7B%22a%22%3A%5B1%2C2%5D%7D"]
    assert header_value(json_param, {"a": 1}) == '{"a":1}'


def test_header_values_use_the_simple_style() -> None:
    assert header_value(param("simple", False), ARRAY) == "blue,black,brown"
    assert header_value(param("simple", True), OBJECT) == "R=100,G=200,B=150"


def test_whitespace_around_a_header_value_is_not_sent() -> None:
    assert header_value(param("simple", False), " a b\t") == "a b"
    assert header_value(param("simple", False), "\t") == ""


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "a\nb", "nul\x00", "naïve"])
def test_header_values_that_would_break_the_header_are_refused(value: str) -> None:
    with pytest.raises(ArgumentProblem) as raised:
        header_value(param("simple", False), value)
    assert raised.value.path == "/color"


def test_cookie_values_are_encoded_so_they_cannot_add_cookies() -> None:
    assert cookie_pairs(param("form", True), "a; admin=1") == ["color=a%3B%20admin=1"]
    assert cookie_pairs(param("form", False), ARRAY) == ["color=blue,black,brown"]


def test_binary_values_come_as_base64_or_data_uris() -> None:
    raw = bytes(range(256))
    encoded = base64.b64encode(raw).decode()
    assert decode_binary("/f", encoded) == (raw, None)
    assert decode_binary("/f", f"data:image/png;base64,{encoded}") == (raw, "image/png")
    assert decode_binary("/f", "data:text/plain,hello%20world") == (b"hello world", "text/plain")
    with pytest.raises(ArgumentProblem):
        decode_binary("/f", "not base64!")


def test_form_bodies_use_form_style_per_field() -> None:
    fields = [
        (Param("name", "name", "form", True), "Rex & co"),
        (Param("tags", "tags", "form", True), ["a", "b"]),
        (Param("nick", "nick", "form", True), None),
    ]
    assert form_body(fields) == b"name=Rex%20%26%20co&tags=a&tags=b&nick="


def test_multipart_bodies_carry_files_text_and_json_parts_with_their_types() -> None:
    png = b"\x89PNG\r\n\x1a\n"
    fields = [
        (Param("file", "file", "form", True, binary=True), "data:image/png;base64," + base64.b64encode(png).decode()),
        (Param("caption", "caption", "form", True), "a dog"),
        (Param("meta", "meta", "form", True), {"a": 1}),
    ]
    body, content_type = multipart_body(fields)
    boundary = content_type.split("boundary=", 1)[1]
    parts = body.split(f"--{boundary}".encode())
    assert parts[0] == b"" and parts[-1] == b"--\r\n"
    assert parts[1] == (
        b'\r\nContent-Disposition: form-data; name="file"; filename="file"\r\nContent-Type: image/png\r\n\r\n'
        + png
        + b"\r\n"
    )
    assert parts[2] == b'\r\nContent-Disposition: form-data; name="caption"\r\n\r\na dog\r\n'
    assert (
        parts[3]
        == b'\r\nContent-Disposition: form-data; name="meta"\r\nContent-Type: application/json\r\n\r\n{"a":1}\r\n'
    )


def test_raw_bodies_decode_binary_and_send_text_as_utf8() -> None:
    assert (
        raw_body(Param("body", "body", "form", True, binary=True), base64.b64encode(b"\x00\x01").decode())
        == b"\x00\x01"
    )
    assert raw_body(Param("body", "body", "form", True), "héllo") == "héllo".encode()

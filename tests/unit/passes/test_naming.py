from virtualize import ir
from virtualize.passes.naming import derive_names, sanitize

CALL = ir.HttpCall(method="GET", path="/")


def op(key: str, *candidates: str) -> ir.Operation:
    return ir.Operation(key=key, name_candidates=candidates, call=CALL)


def test_sanitize_replaces_runs_of_other_characters_and_trims_underscores():
    assert sanitize("users.list") == "users_list"
    assert sanitize("/pets/{petId}") == "pets_petId"
    assert sanitize("créer un chat") == "cr_er_un_chat"


def test_an_explicit_name_keeps_its_plain_form_and_a_sanitized_collision_gets_a_hash():
    names = derive_names((op("GET /a", "users.list"), op("GET /b", "users_list")), 64)
    assert names["GET /b"] == "users_list"
    assert names["GET /a"].startswith("users_list_") and len(names["GET /a"]) == len("users_list_") + 6


def test_names_do_not_change_when_unrelated_operations_are_added_or_removed():
    few = (op("GET /a", "a"), op("GET /b", "x.y"), op("GET /c", "x_y"))
    many = (op("GET /z", "zzz"), *few, op("POST /q", "x.y!"))
    assert {k: v for k, v in derive_names(many, 64).items() if k in {o.key for o in few}} == derive_names(few, 64)


def test_every_name_respects_the_limit_and_stays_unique():
    long = "getTheMonthlySummaryReportGroupedByRegionAndProductLine"
    names = derive_names((op("GET /1", long), op("GET /2", long + "Export"), op("GET /3", long)), 20)
    assert all(len(name) <= 20 for name in names.values())
    assert len(set(names.values())) == 3


def test_an_operation_without_candidates_is_named_from_its_key():
    assert derive_names((op("DELETE /pets/{id}"),), 64) == {"DELETE /pets/{id}": "DELETE_pets_id"}

from pathlib import Path

import pytest

from virtualize.compiler import default_name
from virtualize.config import read_config, read_project
from virtualize.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_project_builds_resolve_paths_against_the_project_file_and_split_their_options(tmp_path: Path):
    project = write(
        tmp_path / "virtualize.toml",
        '[[build]]\nspec = "specs/a.graphql"\nname = "a"\n'
        'options = { name_limit = 40, include_tags = ["x"], documents = ["ops/q.graphql"], endpoint = "http://h/g" }\n',
    )
    [(spec, options)] = read_project(project)
    assert spec == tmp_path / "specs" / "a.graphql"
    assert (options.name, options.name_limit, options.output) == ("a", 40, tmp_path / "generated")
    assert options.selection.include_tags == ("x",)
    assert options.adapter == {"documents": [tmp_path / "ops" / "q.graphql"], "endpoint": "http://h/g"}
    assert options.regenerate == "virtualize build"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no [[build]] entries"),
        ('[[build]]\nspec = "a.yaml"\noptions = { colour = "red" }\n', "build[0].options.colour: unknown key"),
        ('[[build]]\nspec = "a.yaml"\noptions = { selection_depth = "deep" }\n', "selection_depth"),
        ("[[build]\n", "unreadable configuration"),
    ],
)
def test_a_broken_project_file_is_a_config_error(tmp_path: Path, text: str, message: str):
    with pytest.raises(ConfigError) as raised:
        read_project(write(tmp_path / "virtualize.toml", text))
    assert message in raised.value.message


def test_a_spec_config_names_credential_sources_and_never_holds_a_value(tmp_path: Path):
    config = read_config(write(tmp_path / "a.virtualize.toml", '[auth.k.sources]\ntoken = "MY_TOKEN"\n'))
    assert config.auth["k"].sources == {"token": "MY_TOKEN"}
    with pytest.raises(ConfigError, match="not a value"):
        read_config(write(tmp_path / "b.virtualize.toml", '[auth.k.sources]\ntoken = "Bearer abc"\n'))


def test_default_server_names_come_from_the_file_or_its_folder_for_generic_names():
    assert default_name(Path("specs/petstore.yaml")) == "petstore"
    assert default_name(Path("specs/petstore-3.1.yaml")) == "petstore-3-1"
    assert default_name(Path("specs/petstore-split/openapi.yaml")) == "petstore-split"
    assert default_name(Path("schemas/_core.bulk.yaml")) == "core-bulk"

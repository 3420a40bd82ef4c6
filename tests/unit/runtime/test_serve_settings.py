"""The serve configuration file, --upstream flags, and gateway access decisions."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import trustme

from tests.support.petstore import petstore_manifest, write_manifest
from virtualize.errors import ConfigError, ManifestError
from virtualize.runtime.access import Access, check_bind
from virtualize.runtime.serve import load_servers
from virtualize.runtime.settings import ClientSection, ServeSettings, parse_upstreams, read_serve_file


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "serve.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_server_settings_override_defaults_and_flags_override_the_file(tmp_path: Path) -> None:
    config = read_serve_file(
        _write(
            tmp_path,
            '[defaults]\ntimeout = 5.0\nretries = 0\n[servers.petstore]\nupstream = "http://file/v1"\ntimeout = 9.0\n'
            '[servers.petstore.credentials.api_key]\nvalue = "OTHER_KEY"\nforward_caller = true\n',
        )
    )
    settings = ServeSettings(file=config, upstreams=parse_upstreams(["petstore=http://flag/v1"]))
    petstore, other = settings.invoker_settings("petstore"), settings.invoker_settings("zoo")
    assert (petstore.base_url, petstore.timeout, petstore.retries) == ("http://flag/v1", 9.0, 0)
    assert (other.base_url, other.timeout, other.connect_timeout) == (None, 5.0, 5.0)
    override = settings.credential_overrides("petstore")["api_key"]
    assert (dict(override.sources), override.forward_caller) == ({"value": "OTHER_KEY"}, True)


def test_credential_and_client_key_files_are_relative_to_the_configuration_file(tmp_path: Path) -> None:
    config = read_serve_file(
        _write(
            tmp_path,
            '[servers.petstore.credentials.oauth]\nclient_id = "MY_ID"\nclient_secret = {file = "secrets/oauth"}\n'
            '[[clients]]\nname = "ci"\nkey_file = "secrets/ci"\n',
        )
    )
    override = ServeSettings(file=config).credential_overrides("petstore")["oauth"]
    assert dict(override.sources) == {"client_id": "MY_ID"}
    assert dict(override.files) == {"client_secret": str((tmp_path / "secrets" / "oauth").resolve())}
    assert config.clients[0].key_file == str((tmp_path / "secrets" / "ci").resolve())


@pytest.mark.parametrize("source", ["42", '{path = "x"}', '{file = ""}', '{file = "x", mode = 1}'])
def test_a_credential_source_is_a_variable_name_or_a_file(tmp_path: Path, source: str) -> None:
    with pytest.raises(ConfigError) as raised:
        read_serve_file(_write(tmp_path, f"[servers.petstore.credentials.api_key]\nvalue = {source}\n"))
    assert "value" in raised.value.message and "file" in raised.value.message


def test_an_unknown_key_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        read_serve_file(_write(tmp_path, "[defaults]\ntimeuot = 5\n"))
    assert "defaults.timeuot" in raised.value.message
    assert raised.value.location.endswith("serve.toml")


def test_ca_files_are_found_relative_to_the_file_and_a_missing_one_stops_start_up(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    trustme.CA().cert_pem.write_to_path(str(tmp_path / "certs" / "ca.pem"))
    config = read_serve_file(_write(tmp_path, '[defaults]\nca_file = "certs/ca.pem"\n[servers.petstore]\n'))
    settings = ServeSettings(file=config)
    assert settings.invoker_settings("petstore").ca_file == str((tmp_path / "certs" / "ca.pem").resolve())
    assert settings.invoker_settings("other").ca_file == str((tmp_path / "certs" / "ca.pem").resolve())
    with pytest.raises(ConfigError) as raised:
        read_serve_file(_write(tmp_path, '[servers.petstore]\nca_file = "missing.pem"\n'))
    assert "servers.petstore.ca_file: no such file" in raised.value.render()


@pytest.mark.parametrize("content", ["", "-", "not a certificate\n"])
def test_a_ca_file_without_a_certificate_stops_start_up_naming_it(tmp_path: Path, content: str) -> None:
    (tmp_path / "bad.pem").write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:  # it was an SSLError traceback on the first call's context
        read_serve_file(_write(tmp_path, '[defaults]\nca_file = "bad.pem"\n'))
    assert "defaults.ca_file" in raised.value.message and "holds no usable PEM certificate" in raised.value.message


@pytest.mark.parametrize(
    ("flag", "toml"),
    [
        ("petstore=ftp://files.example/v1", ""),
        ("petstore=api/v1", ""),
        ("petstore=http:///v1", ""),
        ("", '[servers.petstore]\nupstream = "localhost:4010"\n'),
    ],
)
def test_an_upstream_that_is_no_http_url_stops_start_up(tmp_path: Path, flag: str, toml: str) -> None:
    write_manifest(petstore_manifest(), tmp_path / "petstore")
    file = read_serve_file(_write(tmp_path, toml)) if toml else ServeSettings().file
    settings = ServeSettings(file=file, upstreams=parse_upstreams([flag] if flag else []))
    with pytest.raises(ConfigError) as raised:  # every call used to end as internal_error
        load_servers([tmp_path / "petstore"], settings)
    assert "is not an http(s) URL with a host" in raised.value.message
    assert ("--upstream petstore=" if flag else "servers.petstore.upstream") in raised.value.message


@pytest.mark.parametrize(
    ("table", "complaint"),
    [
        ('[servers.petstore.credentials.nope]\nvalue = "X"\n', "has no auth scheme 'nope'"),
        ('[servers.petstore.credentials.api_key]\nvaleu = "X"\n', "valeu is not a role of scheme 'api_key' (api_key)"),
    ],
)
def test_a_credential_override_naming_no_scheme_or_role_stops_start_up(
    tmp_path: Path, table: str, complaint: str
) -> None:
    write_manifest(petstore_manifest(), tmp_path / "petstore")
    settings = ServeSettings(file=read_serve_file(_write(tmp_path, table)))
    with pytest.raises(ConfigError) as raised:  # a misspelt role left the manifest's variable in force
        load_servers([tmp_path / "petstore"], settings)
    assert complaint in raised.value.message


def test_a_boolean_setting_takes_a_boolean_not_a_word(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        read_serve_file(_write(tmp_path, '[servers.petstore.credentials.api_key]\nforward_caller = "yes"\n'))
    assert "forward_caller" in raised.value.message


def test_a_malformed_upstream_flag_is_an_error() -> None:
    with pytest.raises(ConfigError):
        parse_upstreams(["petstore"])


def test_a_client_needs_exactly_one_key_source(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        read_serve_file(_write(tmp_path, '[[clients]]\nname = "x"\nkey_env = "A"\nkey_file = "b"\n'))


def test_a_client_key_is_matched_by_digest_from_either_header() -> None:
    digest = hashlib.sha256(b"secret").hexdigest()
    access = Access.from_config((ClientSection(name="ci", key_sha256=digest, servers=("petstore",)),), ["petstore"])
    by_bearer = access.grant("Bearer secret", None)
    by_header = access.grant(None, "secret")
    assert by_bearer is not None and by_header is not None
    assert by_bearer.client == "ci" and by_bearer.allows("petstore") and not by_bearer.allows("zoo")
    assert by_bearer.caller_token is None  # the gateway's own key never goes upstream
    assert access.grant("Bearer wrong", "wrong") is None
    assert access.grant(None, None) is None


def test_without_clients_everyone_may_use_everything_and_the_bearer_is_available_to_forward() -> None:
    grant = Access().grant("Bearer caller-token", None)
    assert grant is not None
    assert grant.allows("anything")
    assert grant.caller_token == "caller-token"


def test_a_client_naming_an_unloaded_server_is_refused() -> None:
    digest = hashlib.sha256(b"k").hexdigest()
    with pytest.raises(ConfigError):
        Access.from_config((ClientSection(name="ci", key_sha256=digest, servers=("nope",)),), ["petstore"])


def test_binding_beyond_loopback_needs_client_keys_or_allow_anonymous() -> None:
    check_bind("127.0.0.1", Access(), allow_anonymous=False)
    check_bind("::1", Access(), allow_anonymous=False)
    check_bind("0.0.0.0", Access(), allow_anonymous=True)
    with pytest.raises(ConfigError):
        check_bind("0.0.0.0", Access(), allow_anonymous=False)


def test_settings_naming_a_server_that_is_not_loaded_are_refused(tmp_path: Path) -> None:
    write_manifest(petstore_manifest(), tmp_path / "petstore")
    settings = ServeSettings(upstreams=parse_upstreams(["petstroe=http://127.0.0.1:1/v1"]))
    with pytest.raises(ConfigError) as raised:
        load_servers([tmp_path], settings)
    assert "petstroe" in raised.value.message
    assert "loaded: petstore" in raised.value.hint


def test_a_folder_without_manifests_is_a_manifest_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError):
        load_servers([tmp_path], ServeSettings())


def test_the_stream_message_cap_comes_from_the_file(tmp_path: Path) -> None:
    config = read_serve_file(_write(tmp_path, "[defaults]\nmax_stream_messages = 5\n[servers.temporal]\n"))
    assert ServeSettings(file=config).invoker_settings("temporal").max_stream_messages == 5
    assert ServeSettings().invoker_settings("temporal").max_stream_messages == 100
    with pytest.raises(ConfigError):
        read_serve_file(_write(tmp_path, "[defaults]\nmax_stream_messages = 0\n"))

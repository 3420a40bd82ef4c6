"""Credentials: sources read from the environment or files, placed per scheme, never leaked."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import parse_qs

import anyio
import anyio.lowlevel
import httpx
import pytest

from virtualize.manifest.model import AuthMap, AuthScheme, SecurityUse
from virtualize.runtime.credentials import CredentialStore, ResolvedCredential, SchemeOverride
from virtualize.runtime.outcomes import Failure

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def needs(*schemes: str) -> tuple[tuple[SecurityUse, ...], ...]:
    return (tuple(SecurityUse(scheme=s) for s in schemes),)


def store(
    environ: dict[str, str], token_client: httpx.AsyncClient | None = None, **schemes: AuthScheme
) -> CredentialStore:
    return CredentialStore("pets", AuthMap(schemes=schemes), environ=environ, token_client=token_client)


KEY_IN = {
    "header": AuthScheme(kind="api_key", in_="header", parameter="X-API-Key", sources={"value": "PETS_KEY"}),
    "query": AuthScheme(kind="api_key", in_="query", parameter="api_key", sources={"value": "PETS_KEY"}),
    "cookie": AuthScheme(kind="api_key", in_="cookie", parameter="sid", sources={"value": "PETS_KEY"}),
}


@pytest.mark.parametrize(("where", "name"), [("header", "X-API-Key"), ("query", "api_key"), ("cookie", "sid")])
async def test_an_api_key_goes_where_its_scheme_says(where: str, name: str) -> None:
    credentials = await store({"PETS_KEY": "k-123"}, key=KEY_IN[where]).resolve(needs("key"))
    assert credentials == (ResolvedCredential("key", "api_key", where, name, "k-123"),)  # type: ignore[arg-type]


async def test_a_variable_ending_in_file_names_a_file_holding_the_secret(tmp_path: Path) -> None:
    secret = tmp_path / "key"
    secret.write_text("from-file\n", encoding="utf-8")
    credentials = await store({"PETS_KEY_FILE": str(secret)}, key=KEY_IN["header"]).resolve(needs("key"))
    assert isinstance(credentials, tuple) and credentials[0].value == "from-file"


async def test_a_missing_credential_is_unauthorized_and_names_the_variables_only() -> None:
    pets = store({"OTHER": "x"}, key=KEY_IN["header"])
    outcome = await pets.resolve(needs("key"))
    assert isinstance(outcome, Failure) and outcome.category == "unauthorized"
    assert outcome.message == (
        "No upstream credential is configured for scheme 'key' of server 'pets': set PETS_KEY or PETS_KEY_FILE."
    )
    assert pets.missing() == [outcome.message]


async def test_an_unreadable_secret_file_is_reported_without_its_path_contents(tmp_path: Path) -> None:
    outcome = await store({"PETS_KEY_FILE": str(tmp_path / "absent")}, key=KEY_IN["header"]).resolve(needs("key"))
    assert isinstance(outcome, Failure) and "the file named by PETS_KEY_FILE cannot be read" in outcome.message


async def test_bearer_and_basic_schemes_build_their_authorization_headers() -> None:
    pets = store(
        {"PETS_TOKEN": "t0k", "PETS_USER": "ann", "PETS_PASSWORD": "s3cret:x"},
        bearer=AuthScheme(kind="http_bearer", sources={"token": "PETS_TOKEN"}),
        basic=AuthScheme(kind="http_basic", sources={"username": "PETS_USER", "password": "PETS_PASSWORD"}),
    )
    [bearer] = await pets.resolve(needs("bearer"))  # type: ignore[misc]
    [basic] = await pets.resolve(needs("basic"))  # type: ignore[misc]
    assert (bearer.name, bearer.value) == ("Authorization", "Bearer t0k")
    assert basic.value == "Basic " + base64.b64encode(b"ann:s3cret:x").decode()


async def test_the_first_satisfiable_alternative_is_used() -> None:
    pets = store(
        {"PETS_TOKEN": "t0k"},
        key=KEY_IN["header"],
        bearer=AuthScheme(kind="http_bearer", sources={"token": "PETS_TOKEN"}),
    )
    credentials = await pets.resolve((*needs("key"), *needs("bearer")))
    assert isinstance(credentials, tuple) and [c.scheme for c in credentials] == ["bearer"]


async def test_a_serve_configuration_can_rename_a_source() -> None:
    pets = CredentialStore(
        "pets",
        AuthMap(schemes={"key": KEY_IN["header"]}),
        overrides={"key": SchemeOverride(sources={"value": "MY_KEY"})},
        environ={"MY_KEY": "mine", "PETS_KEY": "theirs"},
    )
    credentials = await pets.resolve(needs("key"))
    assert isinstance(credentials, tuple) and credentials[0].value == "mine"


async def test_a_serve_configuration_can_name_a_file_and_it_wins_over_the_variable(tmp_path: Path) -> None:
    secret = tmp_path / "client-secret"
    oauth = AuthScheme(
        kind="oauth2_client_credentials", sources={"client_id": "PETS_ID", "client_secret": "PETS_SECRET"}
    )
    pets = CredentialStore(
        "pets",
        AuthMap(schemes={"key": KEY_IN["header"], "oauth": oauth}),
        overrides={"key": SchemeOverride(files={"value": str(secret)})},
        environ={"PETS_KEY": "from-the-variable"},
    )
    assert pets.missing() == [
        f"No upstream credential is configured for scheme 'key' of server 'pets': the file {secret} cannot be read.",
        "No upstream credential is configured for scheme 'oauth' of server 'pets': set PETS_ID or PETS_ID_FILE.",
    ]
    secret.write_text("from-the-file\n", encoding="utf-8")  # read per call: a secret mounted later counts
    credentials = await pets.resolve(needs("key"))
    assert isinstance(credentials, tuple) and credentials[0].value == "from-the-file"
    secret.write_text("\n", encoding="utf-8")
    empty = await pets.resolve(needs("key"))
    assert isinstance(empty, Failure) and empty.message.endswith(f"the file {secret} is empty.")


async def test_a_value_read_from_any_file_is_scrubbed_from_failures(tmp_path: Path) -> None:
    named, by_variable = tmp_path / "named", tmp_path / "by-variable"
    named.write_text("named-s3cret", encoding="utf-8")
    by_variable.write_text("variable-s3cret", encoding="utf-8")
    bearer = AuthScheme(kind="http_bearer", sources={"token": "PETS_TOKEN"})
    pets = CredentialStore(
        "pets",
        AuthMap(schemes={"key": KEY_IN["header"], "bearer": bearer}),
        overrides={"key": SchemeOverride(files={"value": str(named)})},
        environ={"PETS_TOKEN_FILE": str(by_variable)},
    )
    failure = Failure("upstream_error", "x", upstream_message="saw named-s3cret and variable-s3cret")
    assert pets.scrub(failure).upstream_message == "saw *** and ***"


async def test_a_rotated_secret_is_redacted_from_the_next_call_on(tmp_path: Path) -> None:
    secret = tmp_path / "key"
    secret.write_text("first/s3cret", encoding="utf-8")
    pets = store({"PETS_KEY_FILE": str(secret)}, key=KEY_IN["header"])
    assert pets.forms() == ("first%2Fs3cret", "first/s3cret")  # longest first, so no form leaves part of one
    secret.write_text("second-s3cret", encoding="utf-8")
    assert pets.forms() == ("second-s3cret",)  # the forms are kept, but only while the secrets stay the same


async def test_the_callers_token_is_forwarded_only_when_configured() -> None:
    bearer = AuthScheme(kind="http_bearer", sources={"token": "PETS_TOKEN"})
    not_forwarding = await store({}, bearer=bearer).resolve(needs("bearer"), caller_token="callers")
    assert isinstance(not_forwarding, Failure) and "PETS_TOKEN" in not_forwarding.message
    forwarding = store({}, bearer=bearer.model_copy(update={"forward_caller": True}))
    assert await forwarding.resolve(needs("bearer"), caller_token="callers") == (
        ResolvedCredential("bearer", "http_bearer", "header", "Authorization", "Bearer callers"),
    )
    without = await forwarding.resolve(needs("bearer"))
    assert isinstance(without, Failure) and "the caller sent no bearer token" in without.message
    assert forwarding.missing() == []


OAUTH = AuthScheme(
    kind="oauth2_client_credentials",
    token_url="https://auth.example/token",
    scopes=("pets:read", "pets:write"),
    sources={"client_id": "PETS_CLIENT_ID", "client_secret": "PETS_CLIENT_SECRET"},
)
OAUTH_ENV = {"PETS_CLIENT_ID": "app", "PETS_CLIENT_SECRET": "shh"}


class TokenEndpoint:
    """Counts token requests; each answers a new token."""

    def __init__(self, expires_in: int = 3600, status: int = 200) -> None:
        self.requests: list[httpx.Request] = []
        self.expires_in = expires_in
        self.status = status

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        await anyio.lowlevel.checkpoint()  # let concurrent callers pile up behind the lock
        body = {"access_token": f"tok-{len(self.requests)}", "token_type": "Bearer", "expires_in": self.expires_in}
        return httpx.Response(self.status, json=body)


async def test_client_credentials_fetch_a_token_once_and_reuse_it() -> None:
    endpoint = TokenEndpoint()
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as client:
        pets = store(OAUTH_ENV, client, oauth=OAUTH)
        first = await pets.resolve(needs("oauth"))
        second = await pets.resolve(needs("oauth"))
    assert (
        first
        == second
        == (ResolvedCredential("oauth", "oauth2_client_credentials", "header", "Authorization", "Bearer tok-1"),)
    )
    [request] = endpoint.requests
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"app:shh").decode()
    form = parse_qs(request.content.decode())
    assert form == {"grant_type": ["client_credentials"], "scope": ["pets:read pets:write"]}


async def test_a_token_close_to_expiry_is_fetched_again() -> None:
    endpoint = TokenEndpoint(expires_in=10)  # inside the 30 s safety margin: always stale
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as client:
        pets = store(OAUTH_ENV, client, oauth=OAUTH)
        await pets.resolve(needs("oauth"))
        await pets.resolve(needs("oauth"))
    assert len(endpoint.requests) == 2


@pytest.mark.parametrize("expires_in", [True, -5, "1e400", 10**400, None])
async def test_a_lifetime_that_says_nothing_usable_is_the_default_not_an_error(expires_in: object) -> None:
    endpoint = TokenEndpoint(expires_in=expires_in)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as client:
        pets = store(OAUTH_ENV, client, oauth=OAUTH)
        first = await pets.resolve(needs("oauth"))  # 400 digits raised OverflowError: internal_error
        second = await pets.resolve(needs("oauth"))  # true and -5 expired at once: a fetch per call
    assert first == second and not isinstance(first, Failure)
    assert len(endpoint.requests) == 1


async def test_a_token_endpoint_that_never_answers_is_a_timeout_at_each_calls_deadline() -> None:
    async def never(request: httpx.Request) -> httpx.Response:
        await anyio.sleep_forever()
        raise AssertionError

    results: list[object] = []
    async with httpx.AsyncClient(transport=httpx.MockTransport(never)) as client:
        pets = store(OAUTH_ENV, client, oauth=OAUTH)

        async def call(seconds: float) -> None:
            results.append(await pets.resolve(needs("oauth"), deadline=anyio.current_time() + seconds))

        with anyio.fail_after(5):  # the token client's own 10 s timeout, or never, before
            async with anyio.create_task_group() as group:
                group.start_soon(call, 0.2)  # fetches
                group.start_soon(call, 0.1)  # waits for that fetch behind the scheme's lock
    assert [r.category for r in results if isinstance(r, Failure)] == ["timeout", "timeout"]


async def test_concurrent_calls_share_one_token_request() -> None:
    endpoint = TokenEndpoint()
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as client:
        pets = store(OAUTH_ENV, client, oauth=OAUTH)
        with anyio.fail_after(5):
            async with anyio.create_task_group() as group:
                for _ in range(20):
                    group.start_soon(pets.resolve, needs("oauth"))
    assert len(endpoint.requests) == 1


async def test_a_401_refreshes_the_token_once_however_many_calls_saw_it() -> None:
    endpoint = TokenEndpoint()
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as client:
        pets = store(OAUTH_ENV, client, oauth=OAUTH)
        stale = await pets.resolve(needs("oauth"))
        assert isinstance(stale, tuple)
        fresh: list[object] = []

        async def after_401() -> None:
            assert await pets.refresh(stale)
            fresh.append(await pets.resolve(needs("oauth")))

        with anyio.fail_after(5):
            async with anyio.create_task_group() as group:
                for _ in range(10):
                    group.start_soon(after_401)
    assert len(endpoint.requests) == 2
    assert {c[0].value for c in fresh} == {"Bearer tok-2"}  # type: ignore[index]


async def test_static_credentials_are_not_refreshable() -> None:
    pets = store({"PETS_KEY": "k"}, key=KEY_IN["header"])
    credentials = await pets.resolve(needs("key"))
    assert isinstance(credentials, tuple) and not await pets.refresh(credentials)


async def test_a_token_endpoint_refusing_the_client_is_unauthorized_and_an_unreachable_one_unavailable() -> None:
    endpoint = TokenEndpoint(status=401)

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as client:
        refused = await store(OAUTH_ENV, client, oauth=OAUTH).resolve(needs("oauth"))
    async with httpx.AsyncClient(transport=httpx.MockTransport(unreachable)) as client:
        down = await store(OAUTH_ENV, client, oauth=OAUTH).resolve(needs("oauth"))
    assert isinstance(refused, Failure) and (refused.category, refused.status) == ("unauthorized", 401)
    assert isinstance(down, Failure) and down.category == "unavailable"
    assert "shh" not in refused.message + down.message


async def test_a_resolved_credential_never_shows_its_value_in_repr() -> None:
    pets = store({"PETS_KEY": "k-123456"}, key=KEY_IN["header"])
    credentials = await pets.resolve(needs("key"))
    assert "k-123456" not in repr(credentials)


async def test_a_failure_that_quotes_a_credential_is_scrubbed_in_every_text_it_carries() -> None:
    pets = store({"PETS_KEY": "k-123456"}, key=KEY_IN["header"])
    sent = (ResolvedCredential("bearer", "http_bearer", "header", "Authorization", "Bearer s3cret/token"),)
    failure = Failure(
        "unauthorized",
        "The upstream refused k-123456.",
        upstream_message="token s3cret/token expired (s3cret%2Ftoken), key k-123456",
        details=({"path": "/", "message": "Bearer s3cret/token"},),
    )

    scrubbed = pets.scrub(failure, sent)

    assert scrubbed.message == "The upstream refused ***."
    assert scrubbed.upstream_message == "token *** expired (***), key ***"
    assert scrubbed.details == ({"path": "/", "message": "***"},)
    assert pets.scrub(Failure("timeout", "slow"), sent) == Failure("timeout", "slow")

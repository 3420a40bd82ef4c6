from virtualize.passes.auth import env_name


def test_environment_variable_names_come_from_server_scheme_and_role():
    assert env_name("petstore", "api_key", "value") == "PETSTORE_API_KEY"
    assert env_name("petstore", "bearerAuth", "token") == "PETSTORE_BEARERAUTH_TOKEN"
    assert env_name("my-api.v2", "basic", "password") == "MY_API_V2_BASIC_PASSWORD"
    assert env_name("3d", "oauth", "client_secret") == "_3D_OAUTH_CLIENT_SECRET"

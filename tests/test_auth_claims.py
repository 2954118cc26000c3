import base64
import json

from ems_readiness.engine.auth import StaticTokenCredential, graph_scope, read_claims


def jwt(payload):
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
    return f"{enc({'alg': 'none'})}.{enc(payload)}.sig"


def test_app_only_token_roles():
    claims = read_claims(jwt({"roles": ["Organization.Read.All", "Domain.Read.All"], "tid": "t1"}))
    assert claims.kind == "application"
    assert claims.granted == {"Organization.Read.All", "Domain.Read.All"}
    assert claims.tenant_id == "t1"


def test_delegated_token_scopes():
    claims = read_claims(jwt({"scp": "User.Read.All Agreement.Read.All"}))
    assert claims.kind == "delegated"
    assert "Agreement.Read.All" in claims.granted


def test_opaque_token_skips_preflight():
    assert read_claims("EwBwA8l6BAAU-opaque").known is False
    assert read_claims("a.b.c").known is False  # not base64 JSON


def test_scope_follows_cloud_but_emulators_use_public():
    assert graph_scope("https://graph.microsoft.us") == "https://graph.microsoft.us/.default"
    assert graph_scope("http://127.0.0.1:8080") == "https://graph.microsoft.com/.default"


def test_static_credential_never_shows_its_token():
    cred = StaticTokenCredential("secret-token-value")
    assert "secret-token-value" not in repr(cred)
    assert cred.get_token("scope").token == "secret-token-value"


import pytest

from ems_readiness.engine.auth import SignInError, build_credential
from ems_readiness.engine.profile import profile_from_dict


@pytest.mark.parametrize("mode", ["default", "env", "cli", "device-code", "managed-identity", "workload-identity"])
def test_every_auth_mode_builds_a_credential_or_says_why(mode, monkeypatch):
    for name in ("AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_CERTIFICATE_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_CLIENT_ID", "11111111-2222-3333-4444-555555555555")
    profile = profile_from_dict({"tenant": {"auth": mode, "id": "6f1d3c2a-5b8e-4c1f-9a7d-2e4b8c0f1a11"}})
    try:
        credential = build_credential(profile)  # constructing signs in nowhere: no request is made
    except SignInError as exc:
        assert mode in str(exc) and "\n" not in str(exc)
    else:
        assert hasattr(credential, "get_token")


def test_token_mode_needs_the_variable(monkeypatch):
    monkeypatch.delenv("EMS_READINESS_TOKEN", raising=False)
    with pytest.raises(SignInError, match="EMS_READINESS_TOKEN"):
        build_credential(profile_from_dict({"tenant": {"auth": "token"}}))

import pytest

from ems_readiness.engine.profile import (
    ProfileError, apply_overrides, environment_defaults, load_profile, parse_resolver_address, profile_from_dict,
)


def write(tmp_path, text):
    path = tmp_path / "profile.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_full_profile_loads(tmp_path):
    p = load_profile(write(tmp_path, """
[tenant]
id = "contoso.onmicrosoft.com"
graph_url = "http://127.0.0.1:8080"
auth = "token"
[identity]
model = "cloud-only"
max_sync_age_minutes = 60
[dns]
resolvers = { public = "127.0.0.1:5353", internal = "[::1]:53" }
[tls]
hosts = ["sts.contoso.test", "mail.contoso.test:8443"]
warn_days = 14
[network]
services = ["entra", "intune"]
timeout_seconds = 2
[[network.targets]]
name = "dc01"
host = "127.0.0.1"
ports = [389, 636]
purpose = "directory-sync"
"""))
    assert p.tenant.auth == "token"
    assert p.identity.model == "cloud-only"
    assert p.dns.resolvers["public"] == "127.0.0.1:5353"
    assert p.network.targets[0].ports == [389, 636]


@pytest.mark.parametrize("text, fragment", [
    ("[tenant]\nbogus = 1\n", "unknown key 'tenant.bogus'"),
    ("[nonsense]\n", "unknown key 'nonsense'"),
    ("[tls]\nwarn_days = \"soon\"\n", "'tls.warn_days'"),
    ("[identity]\nmodel = \"hybrid\"\n", "'identity.model'"),
    ("[tenant]\ngraph_url = \"http://graph.example.test\"\n", "http:// is accepted only for loopback"),
    ("[dns]\nresolvers = { a = \"not-an-ip\" }\n", "not an IP address"),
    ("[network]\ncatalog = \"missing.toml\"\n", "'network.catalog': file not found"),
    ("[[network.targets]]\nname='x'\nhost='h'\nports=[70000]\n", "out of range"),
    ("this is = = not toml", "not valid TOML"),
    ("[identity]\nroutable_tlds = [\"corp.test\"]\n",
     "'identity.routable_tlds': 'corp.test' is not a top-level domain (one DNS label, such as 'test')"),
    ("[directory]\nroutable_tlds = [\"\"]\n", "'directory.routable_tlds': '' is not a top-level domain"),
    ("[identity]\nroutable_tld = [\"test\"]\n", "(did you mean 'identity.routable_tlds'?)"),
])
def test_bad_profiles_name_the_key_and_file(tmp_path, text, fragment):
    path = write(tmp_path, text)
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    message = str(err.value)
    assert fragment in message
    assert str(path) in message
    assert "\n" not in message


def test_routable_tlds_are_read_from_identity_and_from_their_old_place_in_directory(tmp_path):
    p = load_profile(write(tmp_path, '[identity]\nroutable_tlds = [".Test"]\n[directory]\nroutable_tlds = ["lab"]\n'))
    assert p.identity.routable_tlds == ["test"]
    assert p.routable_tlds() == {"test", "lab"}
    assert profile_from_dict({}).routable_tlds() == frozenset()  # a customer's profile declares none


def test_missing_profile_file(tmp_path):
    with pytest.raises(ProfileError, match="profile file not found"):
        load_profile(tmp_path / "nope.toml")


def test_flags_win_over_profile_and_profile_over_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.env.test:3128")
    monkeypatch.setenv("AZURE_TENANT_ID", "from-env")
    p = load_profile(write(tmp_path, "[tenant]\nid = \"from-profile\"\nauth = \"cli\"\n"))
    p = apply_overrides(p, {"tenant.auth": "token", "tenant.id": None})
    p = environment_defaults(p)
    assert p.tenant.auth == "token"          # flag over profile
    assert p.tenant.id == "from-profile"     # profile over environment
    assert p.network.proxy == "http://proxy.env.test:3128"  # environment fills the gap


def test_resolver_addresses():
    assert parse_resolver_address("1.1.1.1") == ("1.1.1.1", 53)
    assert parse_resolver_address("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert parse_resolver_address("[::1]:5353") == ("::1", 5353)
    assert parse_resolver_address("::1") == ("::1", 53)
    with pytest.raises(ValueError):
        parse_resolver_address("127.0.0.1:99999")


def test_relative_paths_resolve_from_the_profile(tmp_path):
    (tmp_path / "cat.toml").write_text(
        '[[endpoint]]\nhost = "a.test"\nports = [443]\nservice = "entra"\nsource = "test"\n', encoding="utf-8")
    p = profile_from_dict({"network": {"catalog": "cat.toml"}}, base_dir=tmp_path)
    assert p.path(p.network.catalog) == tmp_path / "cat.toml"

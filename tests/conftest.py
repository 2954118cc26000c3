"""Shared fixtures. Real servers (knot, TLS, namespaces with iptables, tinyproxy) live in tests/support."""

pytest_plugins = [
    "tests.support.knot",
    "tests.support.tls_servers",
    "tests.support.netns",
    "tests.support.proxy",
    "tests.support.samba",
]

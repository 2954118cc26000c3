"""Shared fixtures. Real servers (knot, TLS, namespaces with iptables, tinyproxy) live in tests/support."""

import os

from hypothesis import settings

# Generated inputs are the same on every run (CI must not go red on a draw of luck); set
# HYPOTHESIS_PROFILE=explore to search new examples by hand, and pin what it finds as a test.
settings.register_profile("repeatable", derandomize=True, database=None, deadline=None)
settings.register_profile("explore", derandomize=False, database=None, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

pytest_plugins = [
    "tests.support.knot",
    "tests.support.tls_servers",
    "tests.support.netns",
    "tests.support.proxy",
    "tests.support.samba",
]

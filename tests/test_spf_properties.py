"""Property: the SPF parser takes any text a DNS TXT answer can carry and never raises."""

from hypothesis import given, settings
from hypothesis import strategies as st

from ems_readiness.judges.spf import is_spf, parse_spf, spf_covers

TERMS = st.sampled_from([
    "v=spf1", "include:", "a", "mx", "ptr", "exists:", "redirect=", "exp=", "ip4:", "ip6:", "all", "-all",
    "~all", "+", "?", "%{i}", "%{ir}.%{v}._spf.%{d2}", "/", "//", ":", "=", ".", " ", "\n", "\t", "\x00",
    "1.2.3.4", "::1", "/032", "/129", "example.com", "\ud800", "é", "%", "%%", "%_", "%-",
])
SPF_LIKE = st.lists(TERMS, max_size=24).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=600), SPF_LIKE, SPF_LIKE.map(lambda s: "v=spf1 " + s)))
def test_any_txt_text_parses_without_raising(text: str) -> None:
    if is_spf(text):
        record = parse_spf(text)
        assert isinstance(record.problems, list)
        for problem in record.problems:
            assert isinstance(problem, str)


@settings(max_examples=200, deadline=None)
@given(SPF_LIKE, SPF_LIKE)
def test_coverage_comparison_never_raises(published: str, expected: str) -> None:
    assert spf_covers("v=spf1 " + published, expected) in (True, False)

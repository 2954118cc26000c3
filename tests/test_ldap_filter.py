"""RFC 4515 filters ([directory] scope_filter) on export objects, with AD's matching."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ems_readiness.judges.ad_objects import AdObject
from ems_readiness.judges.ldap_filter import LdapFilterError, parse_filter

ANN = AdObject("CN=Ann Lee,OU=Sales,DC=corp,DC=example", {
    "objectclass": ("top", "person", "organizationalPerson", "user"),
    "objectcategory": ("CN=Person,CN=Schema,CN=Configuration,DC=corp,DC=example",),
    "cn": ("Ann Lee",), "department": ("Sales",), "useraccountcontrol": ("514",),
    "mail": ("ann.lee@contoso.com",), "extensionattribute1": ("sync(yes)*",),
    "displayname": ("Zoë",),
})
GROUP = AdObject("CN=Sales,DC=corp,DC=example", {"objectclass": ("top", "group"), "grouptype": ("-2147483646",)})


@pytest.mark.parametrize("text,ann,group", [
    ("(objectClass=user)", True, False),
    ("objectclass=USER", True, False),
    ("(objectCategory=person)", True, False),
    ("(objectCategory=CN=Person,CN=Schema,CN=Configuration,DC=corp,DC=example)", True, False),
    ("(&(objectClass=user)(department=sales))", True, False),
    ("(|(objectClass=group)(department=Finance))", False, True),
    ("(!(mail=*))", False, True),
    ("(!(department=Finance))", True, True),  # AD: a NOT on an absent attribute is true
    ("(mail=*@contoso.com)", True, False),
    ("(mail=ann*lee*)", True, False),
    ("(mail=ann*lee*x*)", False, False),
    ("(cn=Ann*Lee)", True, False),
    ("(cn=An*nn Lee)", False, False),  # overlapping pieces do not match
    ("(userAccountControl:1.2.840.113556.1.4.803:=2)", True, False),  # disabled
    ("(!(userAccountControl:1.2.840.113556.1.4.803:=2))", False, True),
    ("(userAccountControl:1.2.840.113556.1.4.804:=18)", True, False),
    ("(groupType:1.2.840.113556.1.4.803:=2147483648)", False, True),  # security group
    ("(userAccountControl>=500)", True, False),
    ("(userAccountControl<=500)", False, False),
    ("(extensionAttribute1=sync\\28yes\\29\\2a)", True, False),
    ("(displayName=Zo\\c3\\ab)", True, False),
    ("(cn~=ann lee)", True, False),
])
def test_filter(text, ann, group):
    f = parse_filter(text)
    assert (f.matches(ANN), f.matches(GROUP)) == (ann, group)


@pytest.mark.parametrize("text,reason", [
    ("", "empty"),
    ("(objectClass=user", "unterminated"),
    ("(&)", "without filters"),
    ("(=user)", "not an attribute comparison"),
    ("(obj ectClass=user)", "invalid attribute"),
    ("(cn=a\\zz)", "two hex digits"),
    ("(cn=\\ff)", "not UTF-8"),
    ("(memberOf:1.2.840.113556.1.4.1941:=CN=G,DC=x)", "cannot be judged offline"),
    ("(cn:dn:=Ann)", "export does not give"),
    ("(userAccountControl:1.2.840.113556.1.4.803:=two)", "integer"),
    ("(cn=a))", "unexpected"),
    ("(cn=a(b)", "unescaped"),
    ("(&" * 100 + "(cn=a)" + ")" * 100, "nested too deeply"),
    ("(cn=" + "a" * 5000 + ")", "longer than"),
])
def test_bad_filter(text, reason):
    with pytest.raises(LdapFilterError, match=reason):
        parse_filter(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="()&|!=*~<>:\\acn0123456789.", max_size=40))
def test_any_text_parses_or_is_refused(text):
    try:
        f = parse_filter(text)
    except LdapFilterError:
        return
    assert f.matches(ANN) in (True, False)

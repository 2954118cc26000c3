"""The directory preparation rules, table-driven and pure.

Cases marked SAMBA-REFUSES cannot be staged in the Samba AD DC the directory probe tests use: Samba
enforces UPN and sAMAccountName uniqueness, refuses [ ] + = ; ? * , | in sAMAccountName, enforces
rangeUpper (displayName 256, givenName 64) and refuses isCriticalSystemObject on new objects, where
Windows AD accepts them all. They are covered here only.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ems_readiness.judges.ad_objects import AdObject
from ems_readiness.judges.idfix import (
    MAX_VALUE,
    RULES,
    DirectoryIssue,
    DirectoryJudge,
    is_dns_label,
    merged_rows,
    rfc2822_problems,
    skip_reason,
    upn_suffix_problem,
    upn_suffix_problem_text,
)
from ems_readiness.engine.texts import render

BASE = "OU=Staff,DC=corp,DC=example"


def obj(cn: str, kind: str = "user", **attributes) -> AdObject:
    classes = {
        "user": ["top", "person", "organizationalPerson", "user"],
        "group": ["top", "group"],
        "contact": ["top", "person", "organizationalPerson", "contact"],
        "computer": ["top", "person", "organizationalPerson", "user", "computer"],
    }[kind]
    values: dict[str, tuple[str, ...]] = {"objectclass": tuple(classes), "cn": (cn,)}
    if kind != "contact" and kind != "group":
        values["samaccountname"] = (cn.lower()[:20],)
    if kind in ("user", "group", "contact"):
        values["displayname"] = (cn,)
    if kind == "group":
        values["grouptype"] = ("-2147483646",)
        values["mail"] = (f"{cn.lower()}@contoso.com",)
    for name, value in attributes.items():
        key = name.lower()
        if value is None:
            values.pop(key, None)
        else:
            values[key] = tuple(value) if isinstance(value, list) else (value,)
    return AdObject(dn=f"CN={cn},{BASE}", attributes=values)


def judge(*objects: AdObject) -> list[DirectoryIssue]:
    j = DirectoryJudge()
    issues: list[DirectoryIssue] = []
    for o in objects:
        issues += j.add(o)
    return issues + j.finish()


def only(issues: list[DirectoryIssue], rule: str) -> list[DirectoryIssue]:
    return [i for i in issues if i.rule == rule]


COVERED: set[str] = set()

# (case id, objects, rule, dn's cn, value, proposed update, error words, action)
CASES = [
    # displayName
    ("displayname-blank-fix-is-cn", [obj("Ann", displayName=None)],
     "IDF-DISPLAYNAME-BLANK", "Ann", "", "Ann", "blank", "EDIT"),
    ("SAMBA-REFUSES displayname-256-idfix-only", [obj("Bo", displayName="d" * 256)],
     "IDF-DISPLAYNAME-LENGTH", "Bo", "d" * 256, "d" * 255, "length", "EDIT"),
    ("SAMBA-REFUSES displayname-257-microsoft", [obj("Cy", displayName="d" * 257)],
     "MS-DISPLAYNAME-LENGTH", "Cy", "d" * 257, "d" * 256, "length", "EDIT"),
    # givenName
    ("givenname-64-idfix-only", [obj("Di", givenName="g" * 64)],
     "IDF-GIVENNAME-LENGTH", "Di", "g" * 64, "g" * 63, "length", "EDIT"),
    ("SAMBA-REFUSES givenname-65-microsoft", [obj("Ed", givenName="g" * 65)],
     "MS-GIVENNAME-LENGTH", "Ed", "g" * 65, "g" * 64, "length", "EDIT"),
    # mail
    ("mail-length", [obj("Fay", mail="m" * 251 + "@x.com")],
     "IDF-MAIL-LENGTH", "Fay", "m" * 251 + "@x.com", ("m" * 251 + "@x.com")[:256], "length", "EDIT"),
    ("mail-duplicate-case-insensitive", [obj("Gus", mail="same@contoso.com"), obj("Hal", mail="SAME@contoso.com")],
     "IDF-MAIL-DUPLICATE", "Hal", "SAME@contoso.com", "SAME@contoso.com", "duplicate", "EDIT"),
    ("mail-duplicate-complete-when-mail-enabled",
     [obj("Ian", mail="dup@contoso.com"), obj("Jo", mail="dup@contoso.com", mailNickname="jo")],
     "IDF-MAIL-DUPLICATE", "Jo", "dup@contoso.com", "dup@contoso.com", "duplicate", "COMPLETE"),
    # mailNickname
    ("nickname-length", [obj("Kim", mailNickname="n" * 65)],
     "IDF-MAILNICKNAME-LENGTH", "Kim", "n" * 65, "n" * 64, "length", "EDIT"),
    ("nickname-leading-period", [obj("Lee", mailNickname="..lee")],
     "IDF-MAILNICKNAME-CHARACTER", "Lee", "..lee", "lee", "character", "EDIT"),
    ("nickname-only-periods-fix-is-cn", [obj("Max", mailNickname="...")],
     "IDF-MAILNICKNAME-CHARACTER", "Max", "...", "Max", "character", "EDIT"),
    ("nickname-duplicate", [obj("Ned", mailNickname="alias"), obj("Oz", mailNickname="ALIAS")],
     "IDF-MAILNICKNAME-DUPLICATE", "Oz", "ALIAS", "ALIAS", "duplicate", "EDIT"),
    # proxyAddresses
    ("proxy-length", [obj("Pat", proxyAddresses="smtp:" + "p" * 250 + "@x.com")],
     "IDF-PROXY-LENGTH", "Pat", "smtp:" + "p" * 250 + "@x.com", "smtp:" + "p" * 250 + "@", "length", "EDIT"),
    ("proxy-colon-in-address", [obj("Quin", proxyAddresses="SIP:quin:x@contoso.com")],
     "IDF-PROXY-COLON", "Quin", "SIP:quin:x@contoso.com", "SIP:quinx@contoso.com", "character", "EDIT"),
    ("proxy-duplicate-remove-without-nickname",
     [obj("Rae", proxyAddresses="SMTP:r@contoso.com"), obj("Sal", proxyAddresses="smtp:R@contoso.com")],
     "IDF-PROXY-DUPLICATE", "Sal", "smtp:R@contoso.com", "smtp:R@contoso.com", "duplicate", "REMOVE"),
    ("proxy-smtp-character", [obj("Tam", proxyAddresses="SMTP:tam smith@contoso.com")],
     "IDF-PROXY-SMTP-CHARACTER", "Tam", "SMTP:tam smith@contoso.com", "SMTP:tamsmith@contoso.com", "character", "EDIT"),
    ("proxy-smtp-rfc2822-tld", [obj("Uma", proxyAddresses="smtp:uma@corp.notatld")],
     "IDF-PROXY-SMTP-FORMAT", "Uma", "smtp:uma@corp.notatld", "smtp:uma@corp.notatld", "topleveldomain", "EDIT"),
    ("proxy-smtp-rfc2822-localpart", [obj("Val", proxyAddresses="smtp:v..al.@contoso.com")],
     "IDF-PROXY-SMTP-FORMAT", "Val", "smtp:v..al.@contoso.com", "smtp:v..al@contoso.com", "localpart,format", "EDIT"),
    ("proxy-x400-apostrophe", [obj("Wes", proxyAddresses="X400:c=US;a= ;p=Corp;o=Exchange;s=O'Neil;")],
     "IDF-PROXY-X400-CHARACTER", "Wes", "X400:c=US;a= ;p=Corp;o=Exchange;s=O'Neil;",
     "X400:c=US;a= ;p=Corp;o=Exchange;s=ONeil;", "character", "EDIT"),
    ("proxy-x500-bracket", [obj("Xi", proxyAddresses="x500:/o=Corp/ou=[old]/cn=xi")],
     "IDF-PROXY-X500-CHARACTER", "Xi", "x500:/o=Corp/ou=[old]/cn=xi", "x500:/o=Corp/ou=old/cn=xi", "character", "EDIT"),
    ("proxy-other-space", [obj("Yan", proxyAddresses="SIP:yan smith@contoso.com")],
     "IDF-PROXY-CHARACTER", "Yan", "SIP:yan smith@contoso.com", "SIP:yansmith@contoso.com", "character", "EDIT"),
    # sAMAccountName
    ("sam-user-21", [obj("Zed", sAMAccountName="s" * 21)],
     "IDF-SAM-LENGTH", "Zed", "s" * 21, "s" * 20, "length", "EDIT"),
    ("SAMBA-REFUSES sam-characters", [obj("Abe", sAMAccountName="a[b]+=;?*,|c")],
     "IDF-SAM-CHARACTER", "Abe", "a[b]+=;?*,|c", "abc", "character", "EDIT"),
    ("SAMBA-REFUSES sam-duplicate-without-upn",
     [obj("Bea", sAMAccountName="shared"), obj("Cal", sAMAccountName="SHARED")],
     "IDF-SAM-DUPLICATE", "Cal", "SHARED", "SHARED", "duplicate", "EDIT"),
    # targetAddress
    ("target-length", [obj("Dot", "contact", targetAddress="SIP:" + "t" * 252)],
     "IDF-TARGET-LENGTH", "Dot", "SIP:" + "t" * 252, "SIP:" + "t" * 251, "length", "EDIT"),
    ("target-colon", [obj("Eve", "contact", targetAddress="SMTP:eve:x@fabrikam.com")],
     "IDF-TARGET-COLON", "Eve", "SMTP:eve:x@fabrikam.com", "SMTP:evex@fabrikam.com", "character", "EDIT"),
    ("target-duplicate",
     [obj("Flo", "contact", targetAddress="SMTP:a@fabrikam.com"),
      obj("Gil", "contact", targetAddress="smtp:A@fabrikam.com")],
     "IDF-TARGET-DUPLICATE", "Gil", "smtp:A@fabrikam.com", "smtp:A@fabrikam.com", "duplicate", "EDIT"),
    ("target-smtp-backslash", [obj("Hug", "contact", targetAddress="SMTP:hu\\g@fabrikam.com")],
     "IDF-TARGET-SMTP-CHARACTER", "Hug", "SMTP:hu\\g@fabrikam.com", "SMTP:hug@fabrikam.com", "character", "EDIT"),
    ("target-smtp-domainpart", [obj("Ivy", "contact", targetAddress="SMTP:ivy@fab_rikam.com")],
     "IDF-TARGET-SMTP-FORMAT", "Ivy", "SMTP:ivy@fab_rikam.com", "SMTP:ivy@fabrikam.com", "domainpart", "EDIT"),
    ("target-other-character", [obj("Jax", "contact", targetAddress="X500:/o=a b")],
     "IDF-TARGET-CHARACTER", "Jax", "X500:/o=a b", "X500:/o=ab", "character", "EDIT"),
    # userPrincipalName
    ("upn-114", [obj("Kai", userPrincipalName="k" * 60 + "@" + "d" * 46 + ".example")],
     "IDF-UPN-LENGTH", "Kai", "k" * 60 + "@" + "d" * 46 + ".example", ("k" * 60 + "@" + "d" * 46 + ".example")[:113],
     "length", "EDIT"),
    ("upn-apostrophe-idfix", [obj("Liam", userPrincipalName="o'neil@contoso.com")],
     "IDF-UPN-CHARACTER", "Liam", "o'neil@contoso.com", "oneil@contoso.com", "character", "EDIT"),
    ("upn-umlaut-microsoft", [obj("Mia", userPrincipalName="mü@contoso.com")],
     "MS-UPN-CHARACTER", "Mia", "mü@contoso.com", "m@contoso.com", "character", "EDIT"),
    ("upn-format", [obj("Noa", userPrincipalName="noa")],
     "IDF-UPN-FORMAT", "Noa", "noa", "noa", "domainpart,localpart,format", "EDIT"),
    ("upn-double-at", [obj("Oli", userPrincipalName="o@li@contoso.com")],
     "IDF-UPN-FORMAT", "Oli", "o@li@contoso.com", "oli@contoso.com", "localpart", "EDIT"),
    ("SAMBA-REFUSES upn-duplicate",
     [obj("Pia", userPrincipalName="same@contoso.com"), obj("Rex", userPrincipalName="Same@Contoso.Com")],
     "IDF-UPN-DUPLICATE", "Rex", "Same@Contoso.Com", "Same@Contoso.Com", "duplicate", "EDIT"),
    ("upn-parts-microsoft", [obj("Sky", userPrincipalName="s" * 65 + "@contoso.com")],
     "MS-UPN-LENGTH", "Sky", "s" * 65 + "@contoso.com", None, "length", "EDIT"),
    ("upn-blank-microsoft", [obj("Tia", userPrincipalName=None)],
     "MS-UPN-BLANK", "Tia", "", "tia@corp.example", "blank", "EDIT"),
    ("upn-non-ascii", [obj("Ugo", userPrincipalName="ugo.žižek@contoso.com")],
     "ER-UPN-NON-ASCII", "Ugo", "ugo.žižek@contoso.com", "ugo.zizek@contoso.com", "character", "EDIT"),
    ("upn-suffix-local", [obj("Vic", userPrincipalName="vic@corp.local")],
     "ER-UPN-SUFFIX", "Vic", "vic@corp.local", None, "domainpart", "EDIT"),
    # beyond IdFix: one SMTP namespace
    ("smtp-upn-against-earlier-proxy",
     [obj("Wyn", proxyAddresses="smtp:shared@contoso.com"), obj("Xan", userPrincipalName="shared@contoso.com")],
     "ER-SMTP-DUPLICATE", "Xan", "shared@contoso.com", None, "duplicate", "EDIT"),
    ("smtp-proxy-against-earlier-mail",
     [obj("Yul", mail="shared@contoso.com"), obj("Zoe", proxyAddresses="SMTP:Shared@contoso.com")],
     "ER-SMTP-DUPLICATE", "Zoe", "SMTP:Shared@contoso.com", None, "duplicate", "EDIT"),
    ("proxy-no-primary",
     [obj("Bea", proxyAddresses=["smtp:bea@contoso.com", "smtp:b@contoso.com", "X500:/o=Corp/cn=bea"])],
     "ER-PROXY-NO-PRIMARY", "Bea", "smtp:bea@contoso.com;smtp:b@contoso.com", "SMTP:bea@contoso.com", "format", "EDIT"),
    ("nickname-space", [obj("Cid", mailNickname="cid smith")],
     "ER-MAILNICKNAME-CHARACTER", "Cid", "cid smith", "cidsmith", "character", "EDIT"),
    ("nickname-double-and-trailing-period", [obj("Dee", mailNickname="d..ee.")],
     "ER-MAILNICKNAME-CHARACTER", "Dee", "d..ee.", "d.ee", "character", "EDIT"),
    ("proxy-two-primaries",
     [obj("Ada", proxyAddresses=["SMTP:a@contoso.com", "SMTP:ada@contoso.com"])],
     "ER-PROXY-PRIMARY", "Ada", "SMTP:a@contoso.com;SMTP:ada@contoso.com", None, "format", "EDIT"),
]


@pytest.mark.parametrize("objects,rule,cn,value,update,error,action",
                         [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_rule(objects, rule, cn, value, update, error, action):
    COVERED.add(rule)
    found = [i for i in only(judge(*objects), rule) if i.dn == f"CN={cn},{BASE}"]
    assert len(found) == 1, found
    issue = found[0]
    assert (issue.value, issue.update, issue.error, issue.action) == (value, update, error, action)
    assert issue.source == RULES[rule].source and issue.attribute == RULES[rule].attribute \
        or rule == "ER-SMTP-DUPLICATE"


def test_every_rule_has_a_case_and_its_texts():
    covered = {case[2] for case in CASES}
    assert covered == set(RULES), set(RULES) ^ covered
    for rule in RULES.values():
        assert rule.title and rule.why and rule.fix
        assert rule.source in ("IdFix", "Microsoft", "ems-readiness")
        assert rule.variant_of is None or rule.variant_of in RULES


def test_clean_objects_have_no_issue():
    clean = [
        obj("Ann Lee", userPrincipalName="ann.lee@contoso.com", mail="ann.lee@contoso.com",
            mailNickname="ann.lee", givenName="Ann",
            proxyAddresses=["SMTP:ann.lee@contoso.com", "smtp:ann@contoso.com",
                            "X500:/o=Corp/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=ann"]),
        obj("Sales", "group", proxyAddresses="SMTP:sales@contoso.com"),
        obj("Partner", "contact", targetAddress="SMTP:partner@fabrikam.com", mail="partner@fabrikam.com"),
    ]
    assert judge(*clean) == []


def test_own_upn_equal_to_own_proxy_is_fine():
    o = obj("Bo", userPrincipalName="bo@contoso.com", mail="bo@contoso.com", proxyAddresses="SMTP:bo@contoso.com")
    assert judge(o) == []


def test_smtp_namespace_does_not_repeat_what_idfix_reports():
    a = obj("A", mail="shared@contoso.com", proxyAddresses="SMTP:shared@contoso.com", userPrincipalName="a@contoso.com")
    b = obj("B", mail="shared@contoso.com", userPrincipalName="b@contoso.com")  # IdFix: mail duplicate of A; not again as B.mail vs A's proxy
    issues = judge(a, b)
    assert [i.rule for i in issues if i.dn == b.dn] == ["IDF-MAIL-DUPLICATE"]
    c = obj("C", userPrincipalName="shared@contoso.com")  # IdFix sees nothing: C's UPN against A's proxy
    assert [(i.rule, i.other_dn) for i in judge(a, c)] == [("ER-SMTP-DUPLICATE", a.dn)]


def test_duplicate_lists_the_first_holder_once_like_idfix():
    a, b, c = (obj(n, mail="dup@contoso.com") for n in ("A", "B", "C"))
    dups = only(judge(a, b, c), "IDF-MAIL-DUPLICATE")
    assert sorted(i.dn.split(",")[0] for i in dups) == ["CN=A", "CN=B", "CN=C"]
    assert {i.other_dn for i in dups if i.dn != a.dn} == {a.dn}


def test_duplicates_are_found_across_runs_of_several_forests_in_one_judge():
    j = DirectoryJudge()
    j.add(obj("A", userPrincipalName="x@contoso.com"))
    other_forest = AdObject("CN=A2,DC=other,DC=example", {"objectclass": ("user",), "cn": ("A2",),
                                                           "displayname": ("A2",),
                                                           "userprincipalname": ("X@CONTOSO.COM",)})
    assert j.add(other_forest) == []
    assert [i.dn for i in j.finish() if i.rule == "IDF-UPN-DUPLICATE"] == [other_forest.dn, "CN=A," + BASE]


def test_sam_duplicate_ignored_when_upn_present():
    a = obj("A", sAMAccountName="same", userPrincipalName="a@contoso.com")
    b = obj("B", sAMAccountName="same", userPrincipalName="b@contoso.com")
    assert only(judge(a, b), "IDF-SAM-DUPLICATE") == []


def test_sam_limit_is_256_for_groups():
    assert only(judge(obj("G", "group", sAMAccountName="g" * 64)), "IDF-SAM-LENGTH") == []


def test_chain_proposal_carries_every_fix():
    (issue, *_) = only(judge(obj("A", userPrincipalName="a b(c)@contoso.com")), "IDF-UPN-CHARACTER")
    assert issue.update == "abc@contoso.com"


def test_merged_rows_join_errors_of_one_value():
    issues = judge(obj("A", proxyAddresses="smtp:a b:c@corp.notatld"))
    rows = [r for r in merged_rows(issues) if r.source == "IdFix"]
    assert len(rows) == 1
    assert rows[0].error == "character,topleveldomain"
    assert rows[0].update == "smtp:abc@corp.notatld"


def test_values_are_bounded():
    (issue,) = only(judge(obj("A", displayName="x" * 5000)), "IDF-DISPLAYNAME-LENGTH")
    assert len(issue.value) <= MAX_VALUE and len(issue.update) <= MAX_VALUE


@pytest.mark.parametrize("value,errors,update", [
    ("user@contoso.com", (), "user@contoso.com"),
    ("SMTP:user@contoso.com", (), "SMTP:user@contoso.com"),
    ("user@corp.unknowntld", ("topleveldomain",), "user@corp.unknowntld"),
    ("user@-corp.com", ("domainpart", "format"), "user@-corp.com"),
    ("us er@contoso.com", ("localpart",), "user@contoso.com"),
    ("user.@contoso.com", ("localpart",), "user@contoso.com"),
    ("user@corp.e", ("topleveldomain", "domainpart", "format"), "user@corp.e"),
    ("usercorp.com", ("domainpart", "localpart", "format"), "usercorp.com"),
    ("user@contoso.com.", ("domainpart", "format"), "user@contoso.com."),
])
def test_rfc2822_chain(value, errors, update):
    from ems_readiness.judges.idfix import default_tlds
    assert rfc2822_problems(value, default_tlds()) == (errors, update)


SKIPS = [
    ("cn-dollar", obj("SVC$"), "cn ends with $"),
    ("krbtgt", obj("krbtgt"), "well-known system account"),
    ("health-mailbox", obj("HealthMailbox0123abcd"), "well-known system account"),
    ("msol-account", obj("MSOL_0123456789ab"), "well-known system account"),
    ("cnf-escaped", AdObject("CN=Ann\\0ACNF:0f1e2d3c-aaaa-bbbb-cccc-000000000000,DC=corp,DC=example",
                             {"objectclass": ("user",), "cn": ("Ann\nCNF:0f1e",)}), "replication conflict object (CNF)"),
    ("SAMBA-REFUSES critical-system-object", obj("Ann", isCriticalSystemObject="TRUE"), "critical system object"),
    ("sam-cas", obj("Bob", sAMAccountName="CAS_1234"), "Exchange or sync system account"),
    ("nickname-systemmailbox", obj("Cy", mailNickname="SystemMailbox{1f05a927}"), "Exchange or sync system account"),
    ("hidden-msol", obj("Dan", displayName="MSOL sync", msExchHideFromAddressLists="TRUE"),
     "Exchange or sync system account"),
    ("recipient-type-decimal", obj("Eve", msExchRecipientTypeDetails="536870912"), "Exchange system recipient"),
    ("recipient-type-hex", obj("Fay", msExchRecipientTypeDetails="0x1000"), "Exchange system recipient"),
    ("security-group-without-mail", obj("Staff", "group", mail=None), "security group without mail"),
    ("distribution-group-without-proxy", obj("News", "group", groupType="8"),
     "distribution group without proxyAddresses"),
    ("distribution-group-unsigned-form", obj("Old", "group", groupType="2147483650", mail=None),
     "security group without mail"),
]


@pytest.mark.parametrize("o,reason", [pytest.param(o, r, id=i) for i, o, r in SKIPS])
def test_skip_reason(o, reason):
    assert skip_reason(o) == reason
    j = DirectoryJudge()
    assert j.add(o) == [] and j.skipped == {reason: 1}


@pytest.mark.parametrize("o", [
    obj("Ann"), obj("Partners", "group", groupType="8", proxyAddresses="SMTP:g@contoso.com"),
    obj("Ann2", msExchRecipientTypeDetails="1"), obj("Sales", "group"),
    obj("Partner", "contact"), obj("NoGroupType", "group", groupType=None, mail=None),
])
def test_not_skipped(o):
    assert skip_reason(o) is None


@pytest.mark.parametrize("suffix,problem", [
    ("corp.example", ".example is a private"), ("contoso.com", None), ("Contoso.COM.", None), ("andorra.ad", None),
    ("corp.local", ".local is a private"), ("corp.lan", ".lan is a private"), ("corp.internal", ".internal"),
    ("CORP", "single-label"), ("", "no suffix"), ("corp.notatld", "not a known top-level domain"),
    ("x.home.arpa", "home.arpa"), ("bad_name.com", "not a valid DNS name"),
])
def test_upn_suffix_problem(suffix, problem):
    verdict = upn_suffix_problem(suffix)
    assert (verdict is None) if problem is None else (problem in verdict)


def test_counters_and_suffix_counts():
    j = DirectoryJudge()
    for o in [obj("A", userPrincipalName="a@contoso.com"), obj("B", userPrincipalName="b@Contoso.Com"),
              obj("C", userPrincipalName="c@corp.local"), obj("krbtgt"), obj("G", "group"), obj("P", "contact")]:
        j.add(o)
    assert j.seen == 6 and j.skipped == {"well-known system account": 1}
    assert j.by_kind == {"user": 4, "group": 1, "contact": 1}
    assert j.upn_suffixes == {"contoso.com": 2, "corp.local": 1}


def test_judge_keeps_no_objects():
    j = DirectoryJudge()
    j.add(obj("A", userPrincipalName="a@contoso.com", proxyAddresses="SMTP:a@contoso.com"))
    held = [v for v in vars(j).values()]
    assert not any(isinstance(v, AdObject) for v in held)
    assert all(isinstance(dn, str) and kind == "user" for index in j._first_holder.values()
               for dn, kind in index.values())


def test_first_holder_row_has_the_first_holders_kind():
    group = obj("Sales", "group", proxyAddresses=["SMTP:sales@contoso.com", "X500:/o=Corp/cn=sales"])
    contact = obj("Ext", "contact", proxyAddresses=["SMTP:ext@contoso.com", "x500:/o=Corp/cn=Sales"])
    rows = {i.dn: i.kind for i in judge(group, contact) if i.rule == "IDF-PROXY-DUPLICATE"}
    assert rows == {group.dn: "group", contact.dn: "contact"}


HOSTILE = st.text(alphabet=st.sampled_from(list("aZ09.@:;,-_'\" \t\n[]()<>\\*+=?|{}äÿ€\u2028\x00smtpSMTPx5")), max_size=300)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.fixed_dictionaries({
    "cn": HOSTILE, "kind": st.sampled_from(["user", "group", "contact"]),
    "values": st.dictionaries(st.sampled_from(["displayName", "givenName", "mail", "mailNickname", "proxyAddresses",
                                               "sAMAccountName", "targetAddress", "userPrincipalName", "groupType",
                                               "msExchRecipientTypeDetails", "isCriticalSystemObject"]),
                              st.lists(HOSTILE, min_size=1, max_size=3)),
}), max_size=6))
def test_any_objects_judged_without_exception(specs):
    j = DirectoryJudge()
    issues = []
    for n, spec in enumerate(specs):
        o = obj(f"x{n}", spec["kind"], **spec["values"])
        o = AdObject(o.dn, {**o.attributes, "cn": (spec["cn"],)})
        issues += j.add(o)
    issues += j.finish()
    for issue in issues:
        assert issue.rule in RULES and len(issue.value) <= MAX_VALUE
        assert issue.update is None or len(issue.update) <= MAX_VALUE
        assert set(issue.error.split(",")) <= {"format", "blank", "duplicate", "character", "topleveldomain",
                                               "domainpart", "localpart", "length"}


def test_a_declared_lab_tld_is_routable_in_the_judge_itself():
    assert upn_suffix_problem("contoso.test") is not None
    assert upn_suffix_problem("contoso.test", routable=frozenset({"test"})) is None
    assert upn_suffix_problem("bad_label!.test", routable=frozenset({"test"})) is not None


def test_the_routable_rule_says_why_a_suffix_is_not_routable():
    """The one rule both sides judge UPN suffixes by (ADP-003 on premises, DSY-004 in the tenant)."""
    test = upn_suffix_problem_text("contoso.test")  # a lab's .test is private until the lab declares it
    assert (test.id, test.params) == ("suffix.private", {"tld": "test"})
    assert upn_suffix_problem_text("contoso.test", routable=frozenset({"test"})) is None
    local = upn_suffix_problem_text("corp.local", routable=frozenset({"test"}))
    assert render(local) == ".local is a private, non-routable top-level domain"
    unknown = upn_suffix_problem_text("corp.contoso.zzz")
    assert (unknown.id, unknown.params) == ("suffix.unknown", {"tld": "zzz"})
    assert render(unknown, "zh-CN") == ".zzz 不是已知的顶级域"
    # a label is the whole text: a newline is not hidden by the end-of-line anchor
    assert upn_suffix_problem_text("corp\n.com").id == "suffix.invalid"
    assert is_dns_label("test") and not is_dns_label("test\n") and not is_dns_label("-test")

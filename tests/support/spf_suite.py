"""The RFC 7208 conformance suite of pyspf (tests/data/spf/rfc7208-tests.yml) as zone files for knot.

Each scenario's `zonedata` becomes one root zone ("."), so every name of the scenario is served as
written, and a name that is not there is NXDOMAIN. The suite's conventions, as pyspf's own driver
(test/testspf.py) applies them:
- an `SPF` (type 99) record is also published as TXT when the name has no TXT entry at all;
  `TXT: NONE` means "no TXT record" and stops that;
- `TIMEOUT` makes a question for a type the name holds no record of time out. RFC 7208 asks only
  for TXT (and A, MX for mechanisms), so a name with TIMEOUT and no TXT record is served as a zone
  of its own that knot refuses to load: every question about it is SERVFAIL, the failure that
  RFC 7208 §2.6.6 / §5 treat like a timeout (temperror). A name with TIMEOUT and a TXT record
  answers its TXT record; the other types then answer NODATA instead of timing out, which no
  RFC 7208 evaluation of the suite's records asks.
- names below a failing name are zones of their own, so only the failing name fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SUITE = Path(__file__).resolve().parent.parent / "data" / "spf" / "rfc7208-tests.yml"
LABEL_SAFE = set("abcdefghijklmnopqrstuvwxyz0123456789-_")
SOA = "@ IN SOA ns.suite. hostmaster.suite. 1 3600 600 86400 300\n@ IN NS ns.suite.\n"


@dataclass(frozen=True)
class SuiteCase:
    scenario: str
    name: str
    domain: str | None  # the identity checked: the MAIL FROM domain, or the HELO name without one
    expected: frozenset[str]
    spec: str
    description: str


@dataclass
class Scenario:
    index: int
    description: str
    zonedata: dict[str, list[Any]]
    cases: list[SuiteCase] = field(default_factory=list)


def load_suite(path: Path = SUITE) -> list[Scenario]:
    scenarios = []
    for index, document in enumerate(yaml.safe_load_all(path.read_text(encoding="utf-8"))):
        scenario = Scenario(index, document["description"], document["zonedata"])
        for name, test in document["tests"].items():
            result = test["result"]
            scenario.cases.append(SuiteCase(
                scenario=document["description"],
                name=name,
                domain=identity(test.get("mailfrom") or "", test.get("helo") or ""),
                expected=frozenset(result if isinstance(result, list) else [result]),
                spec=str(test.get("spec", "")),
                description=" ".join(str(test.get("description", "")).split()),
            ))
        scenarios.append(scenario)
    return scenarios


def identity(mailfrom: str, helo: str) -> str | None:
    """RFC 7208 §2.4: the domain of MAIL FROM, or the HELO name when MAIL FROM is empty."""
    if mailfrom:
        return mailfrom.rsplit("@", 1)[1] if "@" in mailfrom else None
    return helo or None


def owner(name: str) -> str:
    """A name in zone-file syntax: every octet outside letters, digits, '-' and '_' as \\DDD."""
    labels = name.lower().rstrip(".").split(".")
    return ".".join("".join(c if c in LABEL_SAFE else f"\\{b:03d}" for c, b in zip_octets(label))
                    for label in labels) + "."


def zip_octets(label: str) -> list[tuple[str, int]]:
    return [(chr(b), b) for b in label.encode("utf-8")]


def character_string(text: str) -> str:
    out = []
    for b in text.encode("utf-8"):
        out.append(chr(b) if 0x20 <= b < 0x7F and b not in (0x22, 0x5C) else f"\\{b:03d}")
    return '"' + "".join(out) + '"'


def rdata_lines(name: str, entries: list[Any]) -> tuple[list[str], bool]:
    """The zone lines of one name, and whether it must fail (TIMEOUT without a TXT record)."""
    records: list[tuple[str, str]] = []
    spf: list[str] = []
    txt_entry = False
    timeout = False
    for entry in entries:
        if entry == "TIMEOUT":
            timeout = True
            continue
        ((rtype, value),) = entry.items()
        if rtype in ("TXT", "SPF"):
            strings = [value] if isinstance(value, str) else list(value)
            text = " ".join(character_string(s) for s in strings) or '""'
            if rtype == "TXT":
                txt_entry = True
                if strings == ["NONE"]:
                    continue
            else:
                spf.append(text)
            records.append((rtype, text))
        elif rtype == "MX":
            preference, host = value
            records.append(("MX", f"{preference} {owner(host) if host else '.'}"))
        elif rtype in ("PTR", "CNAME"):
            records.append((rtype, owner(value)))
        else:
            records.append((rtype, str(value)))
    if not txt_entry:
        records += [("TXT", text) for text in spf]
    has_txt = any(rtype == "TXT" for rtype, _ in records)
    lines = list(dict.fromkeys(f"{owner(name)} 300 IN {rtype} {rdata}" for rtype, rdata in records))
    return lines, timeout and not has_txt


def write_zones(scenario: Scenario, directory: Path) -> tuple[list[Path], list[str]]:
    """The zone files of one scenario: root.zone, a broken zone per failing name, and a zone of
    its own for each name below a failing one. Returns (files, broken zone names)."""
    directory.mkdir(parents=True, exist_ok=True)
    names = {name.lower().rstrip("."): rdata_lines(name, entries) for name, entries in scenario.zonedata.items()}
    failing = sorted(name for name, (_, fails) in names.items() if fails)
    root = ["$ORIGIN .", "$TTL 300", SOA.replace("@", "."), "ns.suite. 300 IN A 127.0.0.1"]
    files = []
    for name, (lines, fails) in names.items():
        below_failing = any(name.endswith("." + f) for f in failing)
        if fails:
            files.append(zone_file(directory, name, [
                f"www.{owner(name)} 300 IN CNAME other.{owner(name)}",
                f"www.{owner(name)} 300 IN A 127.0.0.1",  # a CNAME beside other data: knot refuses the zone
            ]))
        elif below_failing:
            files.append(zone_file(directory, name, lines))
        else:
            root += lines
    (directory / "root.zone").write_text("\n".join(root) + "\n", encoding="ascii")
    return [directory / "root.zone", *files], failing


def zone_file(directory: Path, name: str, lines: list[str]) -> Path:
    path = directory / f"{name}.zone"
    header = [f"$ORIGIN {owner(name)}", "$TTL 300", SOA]
    path.write_text("\n".join(header + lines) + "\n", encoding="ascii")
    return path

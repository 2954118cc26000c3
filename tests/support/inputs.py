"""Small valid input files (results, catalogue, endpoints export) for the input-strictness tests."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from ems_readiness.engine.model import (
    CheckResult, Evidence, Finding, Results, Severity, Status, ToolInfo, Totals, Vantage,
)


def results_dict() -> dict[str, Any]:
    """A small results.json as this tool writes it: one failed check with one finding and its evidence."""
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    evidence = Evidence(probe="dns", target="enterpriseenrollment.contoso.test CNAME @public", outcome="nxdomain",
                        elapsed_ms=1.5, data={"answers": [], "resolver": "127.0.0.1"})
    finding = Finding(check_id="DNS-001", resource="contoso.test", status=Status.FAIL, message="no CNAME",
                      expected="CNAME", observed="NXDOMAIN", remediation="publish it", evidence=[evidence])
    check = CheckResult(id="DNS-001", title="Intune enrollment CNAME", area="dns", severity=Severity.HIGH,
                        responsibilities=["assess.remediation-checklist"], status=Status.FAIL, findings=[finding])
    results = Results(tool=ToolInfo(version="0.1.0"), scan_id="scan-1", started=now, finished=now, mode="live",
                      vantage=Vantage(host="test-host", resolvers={"public": "127.0.0.1"}), checks=[check],
                      responsibilities=[], totals=Totals(checks={"fail": 1}, findings={"fail": 1}),
                      observations=[evidence])
    return json.loads(results.dump_json())


CATALOG_ENTRY = '[[endpoint]]\nhost = "login.example.test"\nports = [443]\nservice = "entra"\nsource = "test"\n'


def endpoint_sets() -> list[dict[str, Any]]:
    """A saved answer of the Microsoft 365 endpoints web service, in its own shape."""
    return [
        {"id": 56, "serviceArea": "Common", "serviceAreaDisplayName": "Microsoft 365 Common and Office Online",
         "urls": ["login.microsoftonline.com", "*.msftidentity.com"], "tcpPorts": "80,443",
         "expressRoute": True, "category": "Allow", "required": True},
        {"id": 6, "serviceArea": "Exchange", "urls": ["outlook.office365.com"], "tcpPorts": "143,587,995",
         "udpPorts": "3478-3481", "category": "Default", "required": False, "notes": "POP3 migration"},
        {"id": 9, "serviceArea": "Exchange", "ips": ["13.107.6.152/31"], "tcpPorts": "443", "required": False},
    ]

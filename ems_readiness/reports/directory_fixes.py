"""`directory-fixes.csv`: every on-premises value to correct, in the columns of IdFix's grid.

The customer's AD administrator works through it like an IdFix export: DISTINGUISHEDNAME,
ATTRIBUTE, ERROR, VALUE, UPDATE, ACTION (as IdFix shows them, in its order), then the
ems-readiness rule code, so each row can be traced to the finding that counted it. Written beside
the report whenever the scan assessed the directory (`results.directory_fixes` is not None), also
by `ems-readiness report` from a saved results.json. Same encoding and formula safety as
findings.csv: UTF-8 with a byte-order mark, CRLF rows, LDAP values that a spreadsheet would run
as a formula get a leading apostrophe. If results.json had to bound the list, a last row says how
many rows were left out.
"""

from __future__ import annotations

import csv
import io

from ems_readiness.engine.model import Results
from ems_readiness.reports.csv_findings import BOM, csv_cell

FILE_NAME = "directory-fixes.csv"
COLUMNS = ("DISTINGUISHEDNAME", "ATTRIBUTE", "ERROR", "VALUE", "UPDATE", "ACTION", "RULE")


def render(results: Results) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    fixes = results.directory_fixes or []
    for fix in fixes:
        writer.writerow([csv_cell(v) for v in (fix.dn, fix.attribute, fix.error, fix.value, fix.update,
                                               fix.action, fix.rule)])
    total = results.directory_fixes_total or 0
    if total > len(fixes):
        writer.writerow([csv_cell(f"… {total - len(fixes)} more rows not kept in results.json; scan with a"
                                  " narrower [directory] scope_ous to list them"), "", "", "", "", "", ""])
    return BOM + buffer.getvalue()

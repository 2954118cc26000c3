from ems_readiness.engine.model import Finding


def by_resource(findings: list[Finding]) -> dict[str, Finding]:
    """Findings by resource; a resource reported twice is a bug in the check."""
    result = {f.resource: f for f in findings}
    assert len(result) == len(findings), "a resource reported twice"
    return result

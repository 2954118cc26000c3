"""An example third-party check module, registered through the `ems_readiness.checks` entry point.

In your package's pyproject.toml:

    [project.entry-points."ems_readiness.checks"]
    acme = "acme_checks"
"""

from ems_readiness.engine.check import check


@check(
    id="ACME-001",
    title="Autodiscover CNAME on every domain",
    area="dns",
    severity="low",
    responsibilities=["assess.remediation-checklist", "enable.network"],
    topic="network",
    why="Outlook finds the mailbox through autodiscover.<domain>.",
    fix="Publish autodiscover.<domain>. 3600 IN CNAME autodiscover.outlook.com. at the domain's DNS host.",
)
async def autodiscover_cname(ctx):
    expected = "autodiscover.outlook.com"
    for domain in await ctx.inventory.domains():
        name = f"autodiscover.{domain}"
        chain = await ctx.dns.cname_chain(name)
        if chain.status.unanswered:
            ctx.errored(name, f"the resolver could not answer: {chain.describe()}", evidence=chain.evidence)
        elif expected in chain.targets:
            ctx.passed(name, f"{name} leads to {expected}", expected=expected, observed=chain.describe(),
                       evidence=chain.evidence)
        else:
            ctx.failed(name, f"{name} does not lead to {expected}", expected=f"{name}. 3600 IN CNAME {expected}.",
                       observed=chain.describe(), evidence=chain.evidence)

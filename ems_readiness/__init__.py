"""ems-readiness: readiness assessment for Microsoft Enterprise Mobility + Security onboarding."""

__version__ = "0.1.0"

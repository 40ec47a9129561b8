"""The examples at the end of each command's `--help` (one place, so they stay consistent and
tests/cli/test_help.py can check every command has some)."""

from __future__ import annotations

EXAMPLES: dict[str, list[str]] = {
    "validate": [
        "journeys validate examples/",
        "journeys validate journeys/onboarding.yaml journeys/organization.yaml",
    ],
    "graph": [
        "journeys graph examples/onboarding.yaml --format mermaid -o onboarding.mmd",
        "journeys graph examples/onboarding.yaml --format svg -o onboarding.svg",
    ],
    "import": ["journeys import journey.json steps.json triggers.json --output journeys/"],
    "db upgrade": [
        "journeys db upgrade",
        "journeys db upgrade --url postgresql+psycopg://localhost/journeys",
    ],
    "db current": ["journeys db current"],
    "deploy": [
        "journeys deploy journeys/ --by alice",
        "journeys deploy journeys/ --api https://journeys.example.org --api-key $KEY",
    ],
    "deployments": ["journeys deployments onboarding"],
    "diff": ["journeys diff onboarding", "journeys diff onboarding 57b476c493df"],
    "rollback": ["journeys rollback onboarding 57b476c493df --by alice"],
    "delete": ["journeys delete onboarding --by alice"],
    "pause": ["journeys pause onboarding", "journeys pause onboarding 6b0585d0ca19d2296e80473a"],
    "resume": ["journeys resume onboarding", "journeys resume onboarding 6b0585d0ca19d2296e80473a"],
    "migrate": [
        "journeys migrate onboarding --to 9c1e2f3a4b5d --map old-step=new-step --dry-run",
        "journeys migrate onboarding --undo m-0123456789",
    ],
    "api-key create": ["journeys api-key create --name crm"],
    "api-key list": ["journeys api-key list"],
    "api-key revoke": ["journeys api-key revoke jk_0123456789ab"],
    "webhooks configure": [
        "journeys webhooks configure --url https://journeys.example.org/v1/webhooks/tellescope"
    ],
    "api": ["journeys api --host 0.0.0.0 --port 8000"],
    "simulate": [
        "journeys simulate examples/onboarding.yaml --enduser examples/patients/pat.json"
        " --events examples/onboarding.simulation.yaml --start 2027-01-05T10:00:00-05:00",
        "journeys simulate examples/onboarding.yaml --enduser examples/patients/pat.json"
        " --format json",
    ],
    "test": [
        "journeys test examples/",
        "journeys test examples/ --format junit -o journey-tests.xml",
    ],
    "why": [
        "journeys why 6b0585d0ca19d2296e80473a",
        "journeys why 6b0585d0ca19d2296e80473a onboarding",
    ],
    "dev": ["journeys dev", "journeys dev --api-port 8001 --sandbox-port 8901"],
}


def epilog(command: str) -> str:
    """`Examples:` and one example per paragraph (rich help keeps paragraphs apart)."""
    return "\n\n".join(["Examples:", *(f"  $ {line}" for line in EXAMPLES[command])])

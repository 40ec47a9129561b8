"""Extract endpoint shapes from Tellescope's REST docs into `doc_endpoints.json`.

The contract tests walk the documented request shapes (method, path, required top-level keys) of
every resource family the sandbox implements. The docs live outside this repository, so the
extracted shapes are committed next to the tests; rerun this script on a plain-text copy of
Tellescope's REST API docs when they change:

    .venv/bin/python tests/sandbox/extract_doc_endpoints.py PATH/TO/tellescope-api.txt
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

# Doc section title -> the sections the sandbox implements.
IMPLEMENTED_SECTIONS = (
    "Endusers",
    "EnduserStatusUpdates",
    "Users",
    "Templates",
    "Emails",
    "SmsMessages",
    "ChatMessages",
    "ChatRooms",
    "Forms",
    "FormFields",
    "FormResponses",
    "Tickets",
    "CarePlans",
    "UserNotifications",
    "ManagedContentRecordAssignments",
    "ManagedContentRecords",
    "Notes",
    "CalendarEvents",
    "Journeys",
    "Webhooks",
    "WebhookLogs",
    "AutomatedActions",
)

# Custom (non-CRUD) endpoints the sandbox implements; everything else in those sections that is
# not default CRUD is out of scope (logins, integrations, reports).
IMPLEMENTED_CUSTOM_PATHS = {
    ("POST", "/v1/templated-message"),
    ("POST", "/v1/emails/send-with-template"),
    ("POST", "/v1/sms-messages/send-with-template"),
    ("POST", "/v1/prepare-form-response"),
    ("PATCH", "/v1/submit-form-response"),
    ("GET", "/v1/form-info-for-access-code"),
    ("POST", "/v1/tickets/close"),
    ("POST", "/v1/configure-webhooks"),
    ("GET", "/v1/webhook-configuration"),
    ("PATCH", "/v1/update-webhooks"),
    ("POST", "/v1/send-automation-webhook"),
    ("POST", "/v1/send-calendar-event-reminder-webhook"),
    ("DELETE", "/v1/journey/:id/states"),
    ("POST", "/v1/add-endusers-to-journey"),
    ("POST", "/v1/remove-endusers-from-journey"),
}

CRUD_TITLE = re.compile(r"^(Create|Update|Get|Delete) [A-Z][A-Za-z]+( \(Admin Only\))?$")
CRUD_PATH = re.compile(r"^/v1/[a-z-]+(/:id)?$")
KEY_LINE = re.compile(r'^"([A-Za-z_][A-Za-z0-9_]*)(\??)"\s*:')


def _section_bounds(lines: list[str]) -> dict[str, tuple[int, int]]:
    """Section headings are bare CamelCase words; a section runs to the next heading."""
    heading = re.compile(r"^[A-Z][A-Za-z]+s$")
    starts = [
        (i, line) for i, line in enumerate(lines) if heading.match(line) and line != "Constraints"
    ]
    bounds: dict[str, tuple[int, int]] = {}
    for index, (start, title) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(lines)
        # A heading may also appear as a paragraph title (e.g. "Webhooks" in Getting Started):
        # keep the occurrence that documents the most endpoints.
        previous = bounds.get(title)
        if previous is None or _method_count(lines, start, end) > _method_count(lines, *previous):
            bounds[title] = (start, end)
    return bounds


def _method_count(lines: list[str], start: int, end: int) -> int:
    return sum(1 for line in lines[start:end] if line.startswith("Method: "))


def _top_level_keys(body: list[str]) -> tuple[list[str], list[str], dict[str, str]]:
    """Required and optional keys at depth 1 of the loosely JSON-like example body, and the kind
    of example value each shows (string, number, boolean, Date, list, object)."""
    required, optional, kinds, depth = [], [], {}, 0
    for line in body:
        if depth == 1:
            match = KEY_LINE.match(line)
            if match:
                (optional if match.group(2) else required).append(match.group(1))
                kinds[match.group(1)] = _kind(line[match.end() :].strip().rstrip(","))
        depth += line.count("{") + line.count("[") - line.count("}") - line.count("]")
    return required, optional, kinds


def _kind(example: str) -> str:
    if example.startswith("["):
        return "list"
    if example.startswith("{"):
        return "object"
    for kind in ("number", "boolean", "Date"):
        if kind in example:
            return kind
    return "string"


def extract(text: str) -> list[dict]:
    lines = text.splitlines()
    bounds = _section_bounds(lines)
    endpoints = []
    for section in IMPLEMENTED_SECTIONS:
        start, end = bounds[section]
        i = start
        while i < end:
            if lines[i].startswith("Method: ") and i + 1 < end:
                title, method = lines[i - 1], lines[i].removeprefix("Method: ").strip()
                path = lines[i + 1].replace("https://api.tellescope.com", "").strip()
                body_start = i + 2
                while body_start < end and lines[body_start] not in (
                    "{",
                    "Authentication info only",
                ):
                    body_start += 1
                body_end = body_start
                if body_start < end and lines[body_start] == "{":
                    depth = 0
                    for body_end in range(body_start, end):
                        line = lines[body_end]
                        depth += line.count("{") + line.count("[")
                        depth -= line.count("}") + line.count("]")
                        if depth == 0:
                            break
                required, optional, kinds = _top_level_keys(lines[body_start : body_end + 1])
                is_crud = bool(CRUD_TITLE.match(title)) and bool(CRUD_PATH.match(path))
                if is_crud or (method, path) in IMPLEMENTED_CUSTOM_PATHS:
                    endpoints.append(
                        {
                            "section": section,
                            "title": title,
                            "method": method,
                            "path": path,
                            "required": required,
                            "optional": optional,
                            "kinds": kinds,
                        }
                    )
                i = body_end + 1
                continue
            i += 1
    return endpoints


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        sys.exit(f"usage: {argv[0]} PATH/TO/tellescope-api.txt  (Tellescope's API docs as text)")
    source = Path(argv[1])
    target = Path(__file__).with_name("doc_endpoints.json")
    endpoints = extract(source.read_text(encoding="utf-8"))
    lines = ",\n".join(json.dumps(e, separators=(", ", ": ")) for e in endpoints)
    target.write_text(f"[\n{lines}\n]\n", encoding="utf-8")
    print(f"wrote {len(endpoints)} endpoints to {target}")


if __name__ == "__main__":
    main(sys.argv)

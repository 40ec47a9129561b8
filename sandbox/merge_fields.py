"""Template merge fields (docs/semantics.md §13), rendered as Tellescope renders them.

`{{enduser.X}}` reads the custom field X first, then the built-in (dotted) field, and is left as
written when neither exists. `{{calendar_event.*}}` and `{{form_response.<externalId>}}` read the
records named by the journey context. `{{forms.<id>.link:Label}}` and
`{{content.<id>.link:Label}}` become links: each form link prepares a form response for the
enduser (tied to the automation step, when given), so a message linking the same form twice makes
two responses, as Tellescope does; the plaintext and HTML renditions of one message share them.
`{{order.X}}` reads the enduser order named by `journeyContext.orderId` (dotted, `[object Object]`
rules as for the enduser). Unknown placeholders stay as written.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from sandbox.clock import iso

PLACEHOLDER = re.compile(r"\{\{([^{}]+?)\}\}")
ObjectMode = Literal["default", "json", "jsonEscaped"]


@dataclass
class MergeContext:
    enduser: dict[str, Any] | None = None
    sender: dict[str, Any] | None = None
    organization: dict[str, Any] | None = None
    calendar_event: dict[str, Any] | None = None
    form_response: dict[str, Any] | None = None
    order: dict[str, Any] | None = None
    # form id -> URL of a newly prepared response; called once per link occurrence in a text.
    make_form_link: Callable[[str], str] | None = None
    make_content_link: Callable[[str], str] | None = None
    object_mode: ObjectMode = "default"
    # (form id, occurrence in the text) -> URL: renditions of one message reuse the same links.
    form_links: dict[tuple[str, int], str] = field(default_factory=dict)

    def form_link(self, form_id: str, occurrence: int = 0) -> str | None:
        key = (form_id, occurrence)
        if key not in self.form_links:
            if self.make_form_link is None:
                return None
            self.form_links[key] = self.make_form_link(form_id)
        return self.form_links[key]


def render(text: str, context: MergeContext, *, as_html: bool = False) -> str:
    """Replace every merge field in `text`. With `as_html`, links become anchors and replaced
    values are HTML-escaped."""
    if not isinstance(text, str) or "{{" not in text:
        return text

    occurrences: dict[str, int] = {}

    def replace(match: re.Match[str]) -> str:
        token = match.group(1).strip()
        value = _resolve(token, context, as_html=as_html, occurrences=occurrences)
        return match.group(0) if value is None else value

    return PLACEHOLDER.sub(replace, text)


def plaintext_to_html(text: str) -> str:
    return html_lib.escape(text).replace("\n", "<br />")


def _resolve(
    token: str, context: MergeContext, *, as_html: bool, occurrences: dict[str, int]
) -> str | None:
    escape = html_lib.escape if as_html else (lambda s: s)
    link = _link(token)
    if link is not None:
        kind, record_id, label = link
        if kind == "forms":
            occurrence = occurrences.get(record_id, 0)
            occurrences[record_id] = occurrence + 1
            url = context.form_link(record_id, occurrence)
        else:
            url = _content_url(context, record_id)
        if url is None:
            return None
        if as_html:
            return f'<a href="{html_lib.escape(url)}">{html_lib.escape(label or url)}</a>'
        return f"{label}: {url}" if label else url
    namespace, _, key = token.partition(".")
    if namespace == "enduser" and context.enduser is not None:
        value = enduser_value(context.enduser, key, context.object_mode)
        return None if value is None else escape(value)
    if namespace in ("sender", "user") and context.sender is not None:
        value = context.sender.get(key)
        return None if value is None else escape(_to_text(value, context.object_mode))
    if namespace == "organization" and context.organization is not None:
        value = context.organization.get(key)
        return None if value is None else escape(_to_text(value, context.object_mode))
    if namespace == "calendar_event" and context.calendar_event is not None:
        return escape(_calendar_event_value(context.calendar_event, key, context.object_mode))
    if namespace == "order" and context.order is not None:
        value = _dotted(context.order, key)
        return None if value is None else escape(_to_text(value, context.object_mode))
    if namespace == "form_response" and context.form_response is not None:
        value = _form_response_value(context.form_response, key)
        return None if value is None else escape(value)
    return None


def _dotted(record: dict[str, Any], key: str) -> Any:
    value: Any = record
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _link(token: str) -> tuple[str, str, str] | None:
    match = re.fullmatch(r"(forms|content)\.([0-9a-fA-F]{24})\.link(?::(.*))?", token)
    if match is None:
        return None
    return match.group(1), match.group(2), (match.group(3) or "").strip()


def _content_url(context: MergeContext, content_id: str) -> str | None:
    return context.make_content_link(content_id) if context.make_content_link else None


def enduser_value(enduser: dict[str, Any], key: str, mode: ObjectMode = "default") -> str | None:
    """Tellescope's lookup order: custom field, then special keys, then built-in (dotted)."""
    if key == "hashedPassword":
        return None
    if key == "Age" and enduser.get("dateOfBirth"):
        age = _age(enduser["dateOfBirth"])
        if age is not None:
            return str(age)
    custom = (enduser.get("fields") or {}).get(key)
    if custom not in (None, ""):
        return _to_text(custom, mode)
    if key in ("height.value", "height.unit", "weight.value", "weight.unit"):
        outer, inner = key.split(".")
        value = (enduser.get(outer) or {}).get(inner)
        return "" if value is None else _to_text(value, mode)
    value: Any = enduser
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value in (None, ""):
        return None
    return _to_text(value, mode)


def _calendar_event_value(event: dict[str, Any], key: str, mode: ObjectMode) -> str:
    if key == "start":
        start = event.get("startTimeInMS")
        if not isinstance(start, int | float):
            return ""
        return iso(datetime.fromtimestamp(start / 1000, tz=UTC))
    value = event.get(key)
    return "" if value is None else _to_text(value, mode)


def _form_response_value(response: dict[str, Any], external_id: str) -> str | None:
    for answer in response.get("responses") or []:
        if answer.get("externalId") != external_id:
            continue
        value = (answer.get("answer") or {}).get("value")
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return ""
        if isinstance(value, int | float):
            return _to_text(value, "default")
        if isinstance(value, list):
            return ", ".join(_to_text(v, "default") for v in value)
        if isinstance(value, dict):
            return json.dumps(value, separators=(",", ":"))
        return ""
    return None


def _to_text(value: Any, mode: ObjectMode) -> str:
    """JavaScript's `toString()` for JSON values, or JSON for objects when asked."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list) and mode != "default":
        encoded = json.dumps(value, separators=(",", ":"))
        return json.dumps(encoded)[1:-1] if mode == "jsonEscaped" else encoded
    if isinstance(value, dict):
        return "[object Object]"
    if isinstance(value, list):
        return ",".join(_to_text(v, mode) for v in value)
    return str(value)


def _age(date_of_birth: str) -> int | None:
    """Whole years since an MM-DD-YYYY birth date."""
    try:
        month, day, year = (int(p) for p in date_of_birth.split("-"))
        born = date(year, month, day)
    except ValueError:
        return None
    today = date.today()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

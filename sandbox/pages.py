"""HTML pages for a person playing the patient: the outbox, form pages, content pages.

Plain server-rendered HTML with ordinary forms (no JavaScript needed); the actions post to the
/sandbox/patient helpers and come back here.
"""

from __future__ import annotations

from html import escape
from typing import Any

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1d2433}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #dde;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f5fa}.inbound{background:#f6fff4}.muted{color:#778}
.pill{display:inline-block;padding:0 .4rem;border-radius:.6rem;background:#e8ecf7;font-size:.8rem}
form.inline{display:inline}pre{white-space:pre-wrap;margin:0}
section{margin-bottom:2rem}input[type=text]{width:18rem}
"""


def _page(title: str, body: str, *, refresh: int | None = None) -> str:
    meta = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'>{meta}"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def _id(value: Any) -> str:
    return f"<code class='muted'>{escape(str(value))}</code>" if value else ""


def outbox_page(
    entries: list[dict[str, Any]],
    pending_forms: list[dict[str, Any]],
    open_tickets: list[dict[str, Any]],
    *,
    refresh: int | None,
) -> str:
    rows = []
    for e in entries:
        reply = ""
        if not e["inbound"] and e["enduserId"] and e["channel"] in ("sms", "email", "chat"):
            reply = (
                f"<form class='inline' method='post' action='/sandbox/patient/{e['channel']}'>"
                f"<input type='hidden' name='enduserId' value='{escape(e['enduserId'])}'>"
                "<input type='text' name='message' placeholder='reply as the patient'>"
                "<button>Reply</button></form>"
            )
        subject = f"<strong>{escape(str(e['subject']))}</strong><br>" if e.get("subject") else ""
        rows.append(
            f"<tr class='{'inbound' if e['inbound'] else ''}'>"
            f"<td>{escape(e['createdAt'])}</td>"
            f"<td><span class='pill'>{escape(e['channel'])}</span>"
            f"{' ← inbound' if e['inbound'] else ''}</td>"
            f"<td>{escape(e.get('enduserName') or '')}<br>{_id(e['enduserId'])}</td>"
            f"<td>{escape(str(e.get('to') or ''))}</td>"
            f"<td>{subject}<pre>{escape(e['text'] or '')}</pre>{reply}</td>"
            f"<td>{_id(e.get('automationStepId'))}<br>{_id(e.get('journeyId'))}</td></tr>"
        )
    messages = (
        "<table><tr><th>When (UTC)</th><th>Channel</th><th>Enduser</th><th>To</th>"
        "<th>Message (after merge fields)</th><th>Step / journey</th></tr>"
        + "".join(rows)
        + "</table>"
        if rows
        else "<p class='muted'>Nothing sent yet.</p>"
    )
    forms = "".join(
        f"<li>{escape(f.get('formTitle') or f['formId'])} for {_id(f.get('enduserId'))} "
        f"(step {_id(f.get('automationStepId'))}): "
        f"<a href='/sandbox/forms/{escape(f['accessCode'])}'>open form</a></li>"
        for f in pending_forms
    )
    tickets = "".join(
        f"<li>{escape(t.get('title', ''))} {_id(t['id'])} (owner {_id(t.get('owner'))}) "
        + "".join(
            f"<form class='inline' method='post' action='/sandbox/patient/tickets/{t['id']}/close'>"
            f"<input type='hidden' name='closedForReason' value='{escape(reason)}'>"
            f"<button>Close: {escape(reason)}</button></form> "
            for reason in t.get("closeReasons") or []
        )
        + f"<form class='inline' method='post' action='/sandbox/patient/tickets/{t['id']}/close'>"
        "<button>Close without reason</button></form></li>"
        for t in open_tickets
    )
    body = (
        "<p class='muted'>Newest first. JSON: <a href='?format=json'>?format=json</a>. "
        "Include the patient's replies: <a href='?inbound=true'>?inbound=true</a>.</p>"
        f"<section><h2>Messages</h2>{messages}</section>"
        f"<section><h2>Forms waiting for the patient</h2><ul>{forms or '<li>none</li>'}</ul>"
        "</section>"
        f"<section><h2>Open tickets</h2><ul>{tickets or '<li>none</li>'}</ul></section>"
    )
    return _page("Sandbox outbox", body, refresh=refresh)


def form_page(form: dict[str, Any], fields: list[dict[str, Any]], response: dict) -> str:
    if response.get("submittedAt"):
        return _page(form.get("title", "Form"), "<p>This form has already been submitted.</p>")
    inputs = []
    for field in fields:
        name = escape(field.get("externalId") or field["id"])
        label = escape(field.get("title", ""))
        choices = ((field.get("options") or {}).get("choices")) or []
        if choices:
            control = "".join(
                f"<label><input type='radio' name='{name}' value='{escape(c)}'> "
                f"{escape(c)}</label><br>"
                for c in choices
            )
        else:
            control = f"<input type='text' name='{name}'>"
        inputs.append(f"<p><strong>{label}</strong><br>{control}</p>")
    body = (
        f"<form method='post'>{''.join(inputs)}<button>Submit</button></form>"
        f"<p class='muted'>Form response {_id(response['id'])}, "
        f"step {_id(response.get('automationStepId'))}</p>"
    )
    return _page(form.get("title", "Form"), body)


def message_page(title: str, message: str) -> str:
    return _page(title, f"<p>{escape(message)}</p><p><a href='/sandbox/outbox'>outbox</a></p>")


def content_page(record: dict[str, Any]) -> str:
    html = record.get("htmlContent") or f"<p>{escape(record.get('textContent', ''))}</p>"
    return _page(record.get("title", "Content"), html)

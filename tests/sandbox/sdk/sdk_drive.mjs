// Drive a Tellescope server (the sandbox) through Tellescope's own JavaScript SDK.
//
//   node tests/sandbox/sdk/sdk_drive.mjs <host> <apiKey> <node_modules dir>
//
// <host> is the server's base URL without /v1 (the SDK adds it), e.g. http://127.0.0.1:8901.
// Every call goes through an SDK method (`sdk.api.<model>.<method>`), never a hand-built request,
// so paths, query encoding and bodies are exactly the SDK's. One JSON line per call on stdout:
//   {"method": "tickets.close_ticket", "ok": true|false, "expected": "ok"|"error",
//    "pass": true|false, "detail": "...", "error": <what the SDK threw>,
//    "requests": [{"method": "POST", "url": "...", "params": {...}, "data": {...}, "status": 200}]}
// `pass` says the call did what Tellescope does (succeeded and returned the right shape, or failed
// with Tellescope's status and message). The last line is {"done": true, "calls": N}.

import { createRequire } from "node:module";
import path from "node:path";

const [host, apiKey, nodeModules] = process.argv.slice(2);
if (!host || !apiKey || !nodeModules) {
  console.error("usage: node sdk_drive.mjs <host> <apiKey> <node_modules dir>");
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(nodeModules), "index.js"));
const { Session } = require("@tellescope/sdk");
const axios = require("axios"); // the instance the SDK sends with (hoisted next to it)

const ADMIN_USER_ID = "64f000000000000000000a00"; // the seeded user every API key acts as
const MISSING_ID = "64f0000000000000000ff999";

// Every request the SDK sends during one call, with the status it got.
let sent = [];
axios.interceptors.request.use((config) => {
  sent.push({
    method: (config.method || "get").toUpperCase(),
    url: config.url,
    params: config.params,
    data: config.data,
  });
  return config;
});
const noteStatus = (status) => {
  if (sent.length) sent[sent.length - 1].status = status;
};
axios.interceptors.response.use(
  (response) => {
    noteStatus(response.status);
    return response;
  },
  (error) => {
    noteStatus(error.response ? error.response.status : null);
    return Promise.reject(error);
  },
);

const sdk = new Session({ host, apiKey });
let calls = 0;

function check(condition, detail) {
  if (!condition) throw new CheckFailed(detail);
}
class CheckFailed extends Error {}

// One SDK call. `expect` is either a function checking the result (may return a detail string),
// or {status, message} for a call that must fail as Tellescope fails it.
async function call(method, fn, expect = () => {}) {
  sent = [];
  calls += 1;
  const line = { method, expected: typeof expect === "function" ? "ok" : "error" };
  let result;
  try {
    result = await fn();
    line.ok = true;
  } catch (error) {
    line.ok = false;
    line.error = error instanceof Error ? `${error.name}: ${error.message}` : error;
  }
  try {
    if (typeof expect === "function") {
      check(line.ok, "the SDK call threw");
      line.detail = (await expect(result)) || "";
    } else {
      check(!line.ok, "succeeded where Tellescope answers an error");
      const status = sent.length ? sent[sent.length - 1].status : null;
      check(status === expect.status, `status ${status}, expected ${expect.status}`);
      const message = typeof line.error === "object" && line.error ? line.error.message : line.error;
      check(message === expect.message, `message ${JSON.stringify(message)}, expected ${JSON.stringify(expect.message)}`);
      line.detail = `${status} ${message}`;
    }
    line.pass = true;
  } catch (error) {
    line.pass = false;
    line.detail = error instanceof CheckFailed ? error.message : `check crashed: ${error}`;
  }
  line.requests = sent;
  console.log(JSON.stringify(line));
  return result;
}

const unique = `${Date.now()}${Math.floor(Math.random() * 1e6)}`;
const isId = (v) => typeof v === "string" && /^[0-9a-f]{24}$/.test(v);

// --- endusers -----------------------------------------------------------------------------------
const email = `sdk-${unique}@example.com`;
const enduser = await call("endusers.createOne", () =>
  sdk.api.endusers.createOne({ fname: "Ada", lname: "Sdk", email, phone: "+15555550100", tags: ["sdk"] }),
  (e) => check(isId(e.id) && e.email === email && e.emailConsent === true, `created ${JSON.stringify(e)}`),
);
const E = enduser.id;
await call("endusers.getOne", () => sdk.api.endusers.getOne(E), (e) => check(e.id === E, "wrong record"));
await call("endusers.getOne(filter)", () => sdk.api.endusers.getOne({ email }), (e) => check(e.id === E, "wrong record"));
await call("endusers.getSome(filter)", () => sdk.api.endusers.getSome({ filter: { email } }),
  (es) => check(es.length === 1 && es[0].id === E, `got ${es.length} records`));
await call("endusers.getSome(limit, sort)", () => sdk.api.endusers.getSome({ limit: 2, sort: "newFirst" }),
  (es) => check(Array.isArray(es) && es.length <= 2 && es[0].id === E, "not newest first"));
await call("endusers.getSome(mdbFilter $in)", () => sdk.api.endusers.getSome({ mdbFilter: { email: { $in: [email] } } }),
  (es) => check(es.length === 1 && es[0].id === E, `got ${es.length} records`));
await call("endusers.getByIds", () => sdk.api.endusers.getByIds({ ids: [E] }),
  (r) => check(r.matches.length === 1 && r.matches[0].id === E, "no match"));
await call("endusers.updateOne", () => sdk.api.endusers.updateOne(E, { fname: "Ada B", tags: ["vip"], fields: { Plan: "Gold" } }),
  (e) => check(e.fname === "Ada B" && e.tags.includes("sdk") && e.tags.includes("vip") && e.fields.Plan === "Gold", JSON.stringify(e)));
await call("endusers.updateOne(replaceObjectFields)", () => sdk.api.endusers.updateOne(E, { tags: ["only"] }, { replaceObjectFields: true }),
  (e) => check(e.tags.length === 1 && e.tags[0] === "only", JSON.stringify(e.tags)));
await call("endusers.createOne(duplicate email)", () => sdk.api.endusers.createOne({ email }),
  { status: 409, message: "Uniqueness Violation" });
await call("endusers.getOne(missing)", () => sdk.api.endusers.getOne(MISSING_ID),
  { status: 404, message: "Could not find a record for the given id" });
const some = await call("endusers.createSome", () => sdk.api.endusers.createSome([{ fname: "One" }, { fname: "Two" }]),
  (r) => check(r.created.length === 2 && r.errors.length === 0, JSON.stringify(r)));
await call("endusers.deleteOne", () => sdk.api.endusers.deleteOne(some.created[1].id));
const wrongKey = new Session({ host, apiKey: "not-a-key" });
await call("endusers.getSome(wrong key)", () => wrongKey.api.endusers.getSome({}),
  { status: 401, message: "Unauthenticated" });

// --- users, organizations -----------------------------------------------------------------------
await call("users.getSome", () => sdk.api.users.getSome({}), (us) => check(us.some((u) => u.id === ADMIN_USER_ID), "no admin user"));
await call("users.getOne", () => sdk.api.users.getOne(ADMIN_USER_ID), (u) => check(u.id === ADMIN_USER_ID, "wrong user"));
await call("users.getByIds", () => sdk.api.users.getByIds({ ids: [ADMIN_USER_ID] }), (r) => check(r.matches.length === 1, "no match"));
await call("organizations.getSome", () => sdk.api.organizations.getSome({}), (os) => check(os.length >= 1, "no organization"));

// --- journeys -----------------------------------------------------------------------------------
const journey = await call("journeys.createOne", () => sdk.api.journeys.createOne({ title: `SDK journey ${unique}`, states: [{ name: "New" }, { name: "Done" }] }),
  (j) => check(isId(j.id) && j.defaultState, JSON.stringify(j)));
const J = journey.id;
await call("journeys.updateOne", () => sdk.api.journeys.updateOne(J, { description: "driven by the SDK" }), (j) => check(j.description === "driven by the SDK", "not updated"));
await call("journeys.getSome", () => sdk.api.journeys.getSome({ filter: { title: journey.title } }), (js) => check(js.length === 1, "not found"));
await call("endusers.add_to_journey", () => sdk.api.endusers.add_to_journey({ enduserIds: [E], journeyId: J }));
await call("endusers.getOne(after add_to_journey)", () => sdk.api.endusers.getOne(E), (e) => check(e.journeys && e.journeys[J] === "", JSON.stringify(e.journeys)));
await call("enduser_status_updates.createOne", () => sdk.api.enduser_status_updates.createOne({ enduserId: E, journeyId: J, status: "Done" }));
await call("endusers.getOne(after status update)", () => sdk.api.endusers.getOne(E), (e) => check(e.journeys[J] === "Done", JSON.stringify(e.journeys)));
await call("endusers.remove_from_journey", () => sdk.api.endusers.remove_from_journey({ enduserIds: [E], journeyId: J }));
await call("endusers.getOne(after remove_from_journey)", () => sdk.api.endusers.getOne(E), (e) => check(!(J in (e.journeys || {})), JSON.stringify(e.journeys)));
await call("journeys.delete_states", () => sdk.api.journeys.delete_states({ id: J, states: ["Done"] }),
  (r) => check(r.updated && !r.updated.states.some((s) => s.name === "Done"), JSON.stringify(r)));
await call("endusers.add_to_journey(missing journey)", () => sdk.api.endusers.add_to_journey({ enduserIds: [E], journeyId: MISSING_ID }),
  { status: 404, message: "Could not find a record for the given id" });

// --- automation triggers, automated actions ----------------------------------------------------
const trigger = await call("automation_triggers.createOne", () => sdk.api.automation_triggers.createOne({
  title: `SDK trigger ${unique}`, status: "Active",
  event: { type: "Field Equals", info: { field: "Plan", value: "Gold" } },
  action: { type: "Add To Journey", info: { journeyId: J } },
}), (t) => check(isId(t.id), JSON.stringify(t)));
await call("automation_triggers.getSome", () => sdk.api.automation_triggers.getSome({}), (ts) => check(ts.some((t) => t.id === trigger.id), "not listed"));
await call("automation_triggers.updateOne", () => sdk.api.automation_triggers.updateOne(trigger.id, { title: `SDK trigger ${unique} (edited)` }));
await call("automation_triggers.trigger_events", () => sdk.api.automation_triggers.trigger_events({ triggers: [{ automationTriggerId: trigger.id, enduserId: E, journeyContext: {} }] }));
await call("endusers.getOne(after trigger_events)", () => sdk.api.endusers.getOne(E), (e) => check(e.journeys && e.journeys[J] === "", JSON.stringify(e.journeys)));
await call("automation_triggers.trigger_events(missing trigger)", () => sdk.api.automation_triggers.trigger_events({ triggers: [{ automationTriggerId: MISSING_ID, enduserId: E }] }),
  { status: 404, message: "Could not find a record for the given id" });
const stepId = "64f0000000000000000a5001";
const action = await call("automated_actions.createOne", () => sdk.api.automated_actions.createOne({
  automationStepId: stepId, enduserId: E, journeyId: J, event: { type: "onJourneyStart", info: {} },
  action: { type: "sendSMS", info: { templateId: "64f000000000000000000b01", senderId: ADMIN_USER_ID } },
  status: "active", processAfter: Date.now() + 60000,
}), (a) => check(isId(a.id), JSON.stringify(a)));
await call("automated_actions.getSome", () => sdk.api.automated_actions.getSome({ filter: { enduserId: E } }), (as) => check(as.length === 1, `got ${as.length}`));
await call("automated_actions.updateOne", () => sdk.api.automated_actions.updateOne(action.id, { status: "finished" }), (a) => check(a.status === "finished", "not updated"));

// --- templates and messages ---------------------------------------------------------------------
const template = await call("templates.createOne", () => sdk.api.templates.createOne({
  title: `SDK template ${unique}`, subject: "Hello {{enduser.fname}}", message: "Hi {{enduser.fname}}, welcome.",
}), (t) => check(isId(t.id), JSON.stringify(t)));
await call("templates.getOne", () => sdk.api.templates.getOne(template.id));
await call("templates.getSome", () => sdk.api.templates.getSome({ filter: { title: template.title } }), (ts) => check(ts.length === 1, "not found"));
await call("templates.updateOne", () => sdk.api.templates.updateOne(template.id, { message: "Hi {{enduser.fname}}, welcome aboard." }));
await call("templates.get_templated_message", () => sdk.api.templates.get_templated_message({ message: template.message, userId: ADMIN_USER_ID, enduserId: E, channel: "SMS" }),
  (r) => check(r.plaintext === "Hi Ada B, welcome.", JSON.stringify(r)));
await call("sms_messages.createOne(logOnly)", () => sdk.api.sms_messages.createOne({ enduserId: E, message: "Logged only", logOnly: true }),
  (s) => check(isId(s.id) && s.logOnly === true, JSON.stringify(s)));
await call("sms_messages.createOne", () => sdk.api.sms_messages.createOne({ enduserId: E, message: "Sent" }), (s) => check(s.delivered === true, JSON.stringify(s)));
await call("sms_messages.getSome", () => sdk.api.sms_messages.getSome({ filter: { enduserId: E } }), (ms) => check(ms.length === 2, `got ${ms.length}`));
await call("sms_messages.send_with_template", () => sdk.api.sms_messages.send_with_template({ enduserId: E, senderId: ADMIN_USER_ID, templateId: template.id }),
  (r) => check(r.sms && r.sms.message === "Hi Ada B, welcome aboard.", JSON.stringify(r)));
await call("emails.createOne(logOnly)", () => sdk.api.emails.createOne({ enduserId: E, subject: "Logged", textContent: "Logged only", logOnly: true }),
  (m) => check(m.logOnly === true, JSON.stringify(m)));
await call("emails.send_with_template", () => sdk.api.emails.send_with_template({ enduserId: E, senderId: ADMIN_USER_ID, templateId: template.id }),
  (r) => check(r.email && r.email.subject === "Hello Ada B", JSON.stringify(r)));
await call("emails.getSome", () => sdk.api.emails.getSome({ filter: { enduserId: E } }), (ms) => check(ms.length === 2, `got ${ms.length}`));
const noEmail = await call("endusers.createOne(no email)", () => sdk.api.endusers.createOne({ fname: "No", phone: "+15555550111" }));
await call("emails.createOne(missing email)", () => sdk.api.emails.createOne({ enduserId: noEmail.id, subject: "x", textContent: "x" }),
  { status: 400, message: "Missing email" });

// --- chat rooms and chats -----------------------------------------------------------------------
const room = await call("chat_rooms.createOne", () => sdk.api.chat_rooms.createOne({ userIds: [ADMIN_USER_ID], enduserIds: [E], title: "SDK room" }),
  (r) => check(isId(r.id), JSON.stringify(r)));
await call("chats.createOne", () => sdk.api.chats.createOne({ roomId: room.id, message: "Hello from the SDK" }), (c) => check(c.senderId === ADMIN_USER_ID, JSON.stringify(c)));
await call("chats.getSome", () => sdk.api.chats.getSome({ filter: { roomId: room.id } }), (cs) => check(cs.length === 1, `got ${cs.length}`));
await call("chat_rooms.getOne", () => sdk.api.chat_rooms.getOne(room.id), (r) => check(r.recentMessage === "Hello from the SDK", JSON.stringify(r)));
await call("chat_rooms.updateOne", () => sdk.api.chat_rooms.updateOne(room.id, { tags: ["sdk"] }));
await call("chat_rooms.getSome", () => sdk.api.chat_rooms.getSome({ filter: { enduserIds: E } }), (rs) => check(rs.length === 1, `got ${rs.length}`));

// --- forms and form responses -------------------------------------------------------------------
const form = await call("forms.createOne", () => sdk.api.forms.createOne({ title: `SDK form ${unique}` }), (f) => check(isId(f.id), JSON.stringify(f)));
const field = await call("form_fields.createOne", () => sdk.api.form_fields.createOne({ formId: form.id, title: "Mood", type: "string", externalId: "mood", previousFields: [{ type: "root", info: {} }] }));
await call("form_fields.getSome", () => sdk.api.form_fields.getSome({ filter: { formId: form.id } }), (fs) => check(fs.length === 1, `got ${fs.length}`));
const prepared = await call("form_responses.prepare_form_response", () => sdk.api.form_responses.prepare_form_response({ formId: form.id, enduserId: E }),
  (r) => check(r.accessCode && r.url && r.response && r.response.id, JSON.stringify(r)));
await call("form_responses.info_for_access_code", () => sdk.api.form_responses.info_for_access_code({ accessCode: prepared.accessCode }),
  (r) => check(r.form.id === form.id && r.fields.length === 1, JSON.stringify(r)));
await call("form_responses.submit_form_response", () => sdk.api.form_responses.submit_form_response({
  accessCode: prepared.accessCode,
  responses: [{ fieldId: field.id, fieldTitle: "Mood", externalId: "mood", answer: { type: "string", value: "Good" } }],
}), (r) => check(r.formResponse && r.formResponse.submittedAt, JSON.stringify(r)));
await call("form_responses.getSome", () => sdk.api.form_responses.getSome({ filter: { enduserId: E } }), (rs) => check(rs.length === 1 && rs[0].submittedAt, `got ${rs.length}`));
await call("form_responses.submit_form_response(twice)", () => sdk.api.form_responses.submit_form_response({ accessCode: prepared.accessCode, responses: [] }),
  { status: 400, message: "This form has already been submitted" });
const second = await call("form_responses.prepare_form_response(second)", () => sdk.api.form_responses.prepare_form_response({ formId: form.id, enduserId: E }));
await call("form_responses.deleteOne", () => sdk.api.form_responses.deleteOne(second.response.id));
const group = await call("form_groups.createOne", () => sdk.api.form_groups.createOne({ title: `SDK group ${unique}`, formIds: [form.id] }), (g) => check(isId(g.id), JSON.stringify(g)));
await call("form_groups.getOne", () => sdk.api.form_groups.getOne(group.id), (g) => check(g.formIds[0] === form.id, JSON.stringify(g)));

// --- tickets, care plans, notes, calendar events ------------------------------------------------
const ticket = await call("tickets.createOne", () => sdk.api.tickets.createOne({ title: "Call the patient", enduserId: E, owner: ADMIN_USER_ID }),
  (t) => check(isId(t.id) && !t.closedAt, JSON.stringify(t)));
await call("tickets.close_ticket", () => sdk.api.tickets.close_ticket({ ticketId: ticket.id, closedForReason: "Reached" }),
  (r) => check(r.updated && r.updated.closedAt && r.updated.closedForReason === "Reached", JSON.stringify(r)));
await call("tickets.getOne", () => sdk.api.tickets.getOne(ticket.id), (t) => check(t.closedAt, "not closed"));
await call("tickets.getSome", () => sdk.api.tickets.getSome({ filter: { enduserId: E } }), (ts) => check(ts.length === 1, `got ${ts.length}`));
await call("tickets.close_ticket(missing)", () => sdk.api.tickets.close_ticket({ ticketId: MISSING_ID }),
  { status: 404, message: "Could not find a record for the given id" });
const plan = await call("care_plans.createOne", () => sdk.api.care_plans.createOne({ title: "SDK plan", enduserId: E }), (p) => check(isId(p.id), JSON.stringify(p)));
await call("care_plans.updateOne", () => sdk.api.care_plans.updateOne(plan.id, { description: "Walk daily" }));
await call("care_plans.getSome", () => sdk.api.care_plans.getSome({ filter: { enduserId: E } }), (ps) => check(ps.length === 1, `got ${ps.length}`));
await call("notes.createOne", () => sdk.api.notes.createOne({ enduserId: E, text: "Driven by the SDK" }));
const event = await call("calendar_events.createOne", () => sdk.api.calendar_events.createOne({
  title: "Visit", startTimeInMS: Date.now() + 86400000, durationInMinutes: 30, attendees: [{ type: "enduser", id: E }],
}), (c) => check(isId(c.id), JSON.stringify(c)));
await call("calendar_events.getSome", () => sdk.api.calendar_events.getSome({ filter: { "attendees.id": E } }), (cs) => check(cs.length === 1, `got ${cs.length}`));
await call("calendar_events.updateOne", () => sdk.api.calendar_events.updateOne(event.id, { cancelledAt: new Date().toISOString() }));

// --- user notifications, managed content --------------------------------------------------------
await call("user_notifications.createOne", () => sdk.api.user_notifications.createOne({ userId: ADMIN_USER_ID, type: "Task", message: "Review the SDK run" }));
await call("user_notifications.getSome", () => sdk.api.user_notifications.getSome({ filter: { userId: ADMIN_USER_ID } }), (ns) => check(ns.length >= 1, "none"));
const content = await call("managed_content_records.createOne", () => sdk.api.managed_content_records.createOne({ title: `SDK content ${unique}`, textContent: "Read me" }));
await call("managed_content_record_assignments.createOne", () => sdk.api.managed_content_record_assignments.createOne({ contentId: content.id, enduserId: E }));
await call("managed_content_record_assignments.getSome", () => sdk.api.managed_content_record_assignments.getSome({ filter: { enduserId: E } }), (as) => check(as.length === 1, `got ${as.length}`));
await call("managed_content_record_assignments.createOne(duplicate)", () => sdk.api.managed_content_record_assignments.createOne({ contentId: content.id, enduserId: E }),
  { status: 409, message: "Uniqueness Violation" });

// --- waitlists, orders, medications, engagement, background errors ------------------------------
const waitlist = await call("waitlists.createOne", () => sdk.api.waitlists.createOne({ title: `SDK waitlist ${unique}`, journeyId: J, enduserIds: [E] }), (w) => check(isId(w.id), JSON.stringify(w)));
await call("waitlists.updateOne", () => sdk.api.waitlists.updateOne(waitlist.id, { enduserIds: [some.created[0].id] }),
  (w) => check(w.enduserIds.length === 2, JSON.stringify(w.enduserIds)));
await call("waitlists.grant_access_from_waitlist", () => sdk.api.waitlists.grant_access_from_waitlist({ id: waitlist.id, count: 1 }),
  (r) => check(r.waitlist && r.waitlist.enduserIds.length === 1, JSON.stringify(r)));
const order = await call("enduser_orders.createOne", () => sdk.api.enduser_orders.createOne({ externalId: `order-${unique}`, source: "SDK", enduserId: E, title: "Lab kit", status: "Shipped" }));
await call("templates.get_templated_message(order)", () => sdk.api.templates.get_templated_message({ message: "Your {{order.title}} is {{order.status}}", userId: ADMIN_USER_ID, enduserId: E, journeyContext: { orderId: order.id } }),
  (r) => check(r.plaintext === "Your Lab kit is Shipped", JSON.stringify(r)));
await call("enduser_orders.getSome", () => sdk.api.enduser_orders.getSome({ filter: { enduserId: E } }), (os) => check(os.length === 1, `got ${os.length}`));
await call("enduser_medications.createOne", () => sdk.api.enduser_medications.createOne({ enduserId: E, title: "Metformin" }));
await call("enduser_medications.getSome", () => sdk.api.enduser_medications.getSome({ filter: { enduserId: E } }), (ms) => check(ms.length === 1, `got ${ms.length}`));
await call("engagement_events.getSome", () => sdk.api.engagement_events.getSome({ filter: { enduserId: E } }),
  (es) => check(es.some((e) => e.type === "JOURNEY_SET") && es.some((e) => e.type === "STATE_CHANGE"), JSON.stringify(es.map((e) => e.type))));
await call("background_errors.createOne", () => sdk.api.background_errors.createOne({ title: "SDK", message: "driven by the SDK" }));
await call("background_errors.getSome", () => sdk.api.background_errors.getSome({}), (es) => check(Array.isArray(es), "not an array"));

// --- webhooks -----------------------------------------------------------------------------------
await call("webhooks.configure", () => sdk.api.webhooks.configure({ url: `${host}/sandbox/echo/webhooks`, secret: `sdk-secret-${unique}` }));
await call("webhooks.get_configuration", () => sdk.api.webhooks.get_configuration({}), (c) => check(c.url === `${host}/sandbox/echo/webhooks`, JSON.stringify(c)));
await call("webhooks.update", () => sdk.api.webhooks.update({ subscriptionUpdates: { journeys: { create: true, update: true, delete: true } } }));
await call("webhooks.send_automation_webhook", () => sdk.api.webhooks.send_automation_webhook({ message: "from the SDK", enduserId: E }));
await call("webhooks.configure(short secret)", () => sdk.api.webhooks.configure({ url: `${host}/sandbox/echo/webhooks`, secret: "short" }),
  { status: 400, message: "Error parsing field secret: Secret must exceed 15 characters" });
await call("webhook_logs.getSome", () => sdk.api.webhook_logs.getSome({}), (ls) => check(Array.isArray(ls), "not an array"));

// --- clean up through the SDK too ---------------------------------------------------------------
await call("templates.deleteOne", () => sdk.api.templates.deleteOne(template.id));
await call("journeys.deleteOne", () => sdk.api.journeys.deleteOne(J));
await call("endusers.deleteOne(with records)", () => sdk.api.endusers.deleteOne(E));

console.log(JSON.stringify({ done: true, calls }));

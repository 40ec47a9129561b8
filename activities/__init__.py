"""Side effects in Tellescope: the client, the activities and their idempotency scheme.

Modules, one concern each:
  settings               TellescopeSettings (TELLESCOPE_* environment)
  tellescope_client      TellescopeClient: wire protocol, pagination, custom endpoints
  errors                 HTTP answers -> Temporal ApplicationErrors (retryable or not)
  idempotency            record keys, lookups, the table of which field holds which key
  run                    ActionRun: one action's request, clock, keys, merge-field rendering
  people                 senders, care team, users by tags / licensed state
  messaging              sendEmail, sendSMS, sendChat, notifyTeam
  forms                  sendForm, pushFormsToPortal, shareContent
  care, due_dates        tickets (assignment strategies, due dates), care plans
  enduser, field_setters status, fields, tags, access tags, contact type, care team
  webhooks               sendWebhook (default and extended forms)
  records                appointments, notes
  unconfigured           AI, telephony and integrations (docs/decisions.md D11, D12)
  lookups                enduser reads, anchor dates
  tellescope_activities  TellescopeActivities: the @activity.defn methods
  engine                 engine-side activities (plan store, ledger, journey control)
"""

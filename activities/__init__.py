"""Side effects in Tellescope: the activities, one per action family. The client they share, its
errors, settings and idempotency scheme live in `tellescope/`.

Modules, one concern each:
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

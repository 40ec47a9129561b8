#!/bin/sh
# One-shot (the temporal-namespace service, temporalio/admin-tools): the engine's namespace
# with its retention, and the enrollment search attributes (opaque ids only, never PHI; the
# names and types of workflows/search_attributes.py). Idempotent: what exists is left alone.
set -eu
NAMESPACE=${TEMPORAL_NAMESPACE:-default}
RETENTION=${TEMPORAL_RETENTION:-720h}  # 30 days
ATTRIBUTES="JourneyId:Keyword JourneyVersion:Keyword EnduserId:Keyword JourneyState:Keyword
NextActionAt:Datetime JourneyWaitingAt:KeywordList JourneyFailedSteps:KeywordList EnrollmentStatus:Keyword"

tries=0
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  tries=$((tries + 1))
  [ "$tries" -lt 60 ] || { echo "temporal-namespace: server not serving" >&2; exit 1; }
  sleep 2
done

if ! temporal operator namespace describe --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE" >/dev/null 2>&1
then
  temporal operator namespace create --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE" \
    --retention "$RETENTION"
fi

existing=$(temporal operator search-attribute list --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE")
for attribute in $ATTRIBUTES; do
  name=${attribute%%:*}
  if echo "$existing" | grep -qw "$name"; then
    continue
  fi
  temporal operator search-attribute create --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE" \
    --name "$name" --type "${attribute##*:}"
done
echo "temporal-namespace: $NAMESPACE ready"

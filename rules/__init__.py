"""Pure, deterministic rules the workflow and API share: conditions, office hours, schedules."""

"""The local stack: Temporal servers from the installed binaries, and `journeys dev`."""

"""`journeys simulate`: run a journey on the time-skipping test server against a recording
stand-in for Tellescope, and print what would happen when."""

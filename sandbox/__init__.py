"""A local server that speaks Tellescope's REST wire protocol.

Journey Engine's Tellescope client (httpx, configurable base URL and API key) talks to it exactly as
it talks to https://api.tellescope.com, so journeys can be developed and tested end to end without a
Tellescope account. The sandbox never imports engine packages, and the engine never imports it.

Start it with `python -m sandbox`; build an app in-process with `sandbox.app.create_app`.
"""

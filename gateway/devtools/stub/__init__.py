"""A stand-in receiving system: an agency (FKASSA, TRANSP, …) or a care system.

``intygsgw stub-recipient`` answers the contracts the gateway sends out,
records every request it gets, and can be told to misbehave (ERROR results,
SOAP faults, HTTP errors, dropped connections, slow answers, outages), so
delivery can be developed, demonstrated and tested against a real process
instead of mocks.

Modules: ``contracts`` (what is served, reading requests, writing answers),
``rules`` (simulated behaviour), ``store`` (received messages), ``app`` (the
WSGI routes), ``server`` (granian), ``client`` (for tests and scripts),
``process`` (start one as a subprocess).
"""

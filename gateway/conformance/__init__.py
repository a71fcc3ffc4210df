"""A contract test suite testers point at any deployment: ``intygsgw conformance`` / ``rivta-conformance``.

``producer`` tests a hub (this gateway or any other) over its SOAP contracts;
``receiver`` tests a recipient's endpoint as the hub would call it. The cases
are data (``cases/<mode>/<Contract>.toml``), so a tester adds one without code;
the runner sends each over HTTP, checks the answer against the contract's
responder schema and the case's expectations, and reports to the terminal,
JUnit XML and a self-contained HTML page.
"""

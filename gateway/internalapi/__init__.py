"""The internal REST API (issue 19): JSON for the hub's own applications.

Mina intyg, Webcert, Rehabstöd, Intygsadmin and the customer-termination
service call it on a listener of its own (setting ``internal_port``), never
on the SOAP port. Like the SOAP handlers it is an entry point over the
service layer: it validates the JSON against its models (``models``), calls
a service function, and answers the model the reference's applications read.
Bad input gets an RFC 9457 problem, never a stack trace (``framework``).
"""

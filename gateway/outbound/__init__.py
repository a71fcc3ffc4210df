"""Calls the gateway makes: routes to logical addresses, the SOAP transport, the outbound port."""

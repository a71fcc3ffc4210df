"""The HTTP entry: WSGI app, SOAP dispatch to contract handlers, WSDL, serving processes."""

"""Who is calling and what they may call: mutual TLS identity and call authorization."""

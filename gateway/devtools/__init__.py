"""Tools for development and testing, shipped so testers have them: the stub recipient,
sample requests, the rules corpus and a throw-away PKI. Nothing in serving imports them."""

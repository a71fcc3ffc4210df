"""Settings and the operator-edited files the gateway reads (and reloads)."""

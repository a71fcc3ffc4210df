"""Durable delivery of outgoing work: schedule, circuit breaker, delivery loop."""

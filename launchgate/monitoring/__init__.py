"""Monitoring through a target's own Prometheus: SLIs as evidence."""

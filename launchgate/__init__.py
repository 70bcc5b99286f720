"""launchgate: release-readiness harness for 371OS."""

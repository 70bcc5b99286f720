"""The glue between pytest-bdd and launchgate: target sessions, actors and scenario evidence."""

"""Shared parts of every reference-stack service: app factory, database, auth, metrics, logging."""

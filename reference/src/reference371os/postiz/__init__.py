"""Postiz sandbox: the Postiz API routes the 371OS Postiz client calls, backed by the stack database."""

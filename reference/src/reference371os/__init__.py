"""The reference 371OS: a production-shaped implementation of the 371OS contract (the embedded default target)."""

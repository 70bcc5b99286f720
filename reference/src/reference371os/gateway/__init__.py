"""The gateway in front of the reference stack: routing, authentication, rate limiting, proxying."""

"""Platform service: identity (signup, verification, login, API keys), social posting through Postiz,
and tester feedback, in one process."""

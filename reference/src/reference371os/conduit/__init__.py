"""enhanced-mail-conduit: email campaigns with agent approvals, DAO governance and verifiable SMTP delivery."""

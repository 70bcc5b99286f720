"""SMTP sink: stands in for the recipients' mail servers and lets the harness read what was delivered."""

"""Browser tests: the campaign flows in a real Chromium, driven through page objects (e2e/pages/)."""

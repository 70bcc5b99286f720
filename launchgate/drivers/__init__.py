"""Layer 3: one protocol each. Drivers raise errors that carry what failed; they never swallow them."""

"""The reference stack's minimal explorer page for one transaction."""

from __future__ import annotations

from e2e.pages.base import ConsolePage


class TransactionPage(ConsolePage):
    @property
    def tx_hash(self) -> str:
        return self.fact("Transaction hash")

    @property
    def state(self) -> str:
        return self.fact("Status")

    @property
    def input_data(self) -> str:
        return self.fact("Input data")

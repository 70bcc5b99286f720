"""Layer 2: the domain language. Steps say which driver call makes them true; no HTTP, SQL or web3 here."""

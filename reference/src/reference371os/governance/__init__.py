"""dao-governance-service of the reference 371OS stack: proposals, signed votes, tallies, human approval."""

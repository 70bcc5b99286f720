"""gates.yaml model, evidence model, and scoring (evidence in, verdicts out; scoring never runs checks)."""

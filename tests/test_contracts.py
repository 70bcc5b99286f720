"""The contracts' published ABIs (fixtures/contracts/build/) carry what the harness's chain driver reads."""

from __future__ import annotations

from launchgate.contracts import DAO, REGISTRY, load_abi


def test_the_abis_carry_what_the_driver_reads() -> None:
    registry = {f.get("name") for f in load_abi(REGISTRY)}
    assert {"anchor", "anchoredAt", "anchorOf", "EmailAnchored", "isWriter", "setWriter"} <= registry
    dao = {f.get("name") for f in load_abi(DAO)}
    assert {"recordProposal", "castVote", "closeVoting", "recordDecision", "proposalOf", "tallyOf", "outcomeOf",
            "hasVoted", "VoteCast", "VotingClosed"} <= dao

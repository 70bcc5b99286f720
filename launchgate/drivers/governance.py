"""The 371OS DAO governance protocol: proposals, signed votes, tallies and human approval."""

from __future__ import annotations

from typing import Any

from launchgate.drivers.http import ApiClient
from launchgate.drivers.outcomes import Accepted, Refused, outcome_of

PREFIX = "/api/governance"


def vote_message(proposal_id: str, option: str) -> str:
    """The text a voter signs (EIP-191 personal_sign), as the reference 371OS verifies it."""
    return f"371OS vote\nproposal: {proposal_id}\noption: {option}"


def proposal_body(title: str, proposer: str, type_: str = "operational") -> dict[str, Any]:
    return {
        "title": title,
        "description": f"{title}: proposed for community review",
        "type": type_,
        "proposer": proposer,
        "execution_details": {
            # A whole ExecutionPhase: the public service reads responsible_agents and refuses a phase without it.
            "phases": [
                {
                    "id": "phase-1",
                    "name": "rollout",
                    "description": "Roll the change out to the community",
                    "objectives": ["adoption"],
                    "deliverables": ["announcement"],
                    "estimatedDuration": "1 week",
                    "responsible_agents": ["chief_of_staff"],
                    "completion_criteria": ["announced"],
                    "dependencies": [],
                }
            ],
            "dependencies": [],
            "success_criteria": ["adopted by the community"],
            "risk_mitigation": [{"risk": "low adoption", "mitigation": "staged rollout"}],
            "resource_requirements": [{"resource": "agent time", "amount": 1}],
        },
        "timeline": {"review_period_days": 0, "voting_period_days": 3, "key_milestones": []},
        "stakeholders": ["community"],
    }


class GovernanceDriver:
    def __init__(self, api: ApiClient) -> None:
        self.api = api

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.api.post(f"{PREFIX}/proposals", json=body, key="data")

    def get(self, proposal_id: str) -> dict[str, Any]:
        return self.api.get(f"{PREFIX}/proposals/{proposal_id}", key="data")

    def list(self, **filters: str) -> list[dict[str, Any]]:
        return list(self.api.get(f"{PREFIX}/proposals", params=filters, key="data"))

    def newest(self, count: int, status: str) -> tuple[list[dict[str, Any]], int]:
        """At most `count` of the newest proposals in `status` (the list is oldest first) and how many there are,
        in at most three reads of the contract's paginated list (`metadata.total_count`), whatever the history."""
        def page(number: int) -> tuple[list[dict[str, Any]], int]:
            body = self.api.get(f"{PREFIX}/proposals", params={"status": status, "limit": str(count),
                                                                "page": str(number)})
            return [p for p in body["data"] if p["status"] == status], int(body["metadata"]["total_count"])

        records, total = page(1)
        last = max(1, -(-total // count))
        if last > 1:
            records = (page(last - 1)[0] if last > 2 else records) + page(last)[0]
        return records[-count:], total

    def transition(self, proposal_id: str, action: str, body: dict[str, Any] | None = None) -> Accepted | Refused:
        """submit, start-voting, close-voting, approve or reject: accepted, or refused by a guard."""
        return outcome_of(self.api.raw("POST", f"{PREFIX}/proposals/{proposal_id}/{action}", json=body or {}))

    def vote(self, proposal_id: str, private_key: str, option: str, signature: str | None = None) -> Accepted | Refused:
        """A ballot signed with `private_key` (or carrying `signature`): accepted (the vote), or refused."""
        # Imported here: eth_account's import costs about 0.6 s of CPU, which every gate run that casts no vote
        # (most faulted runs of the matrix) would otherwise pay at collection.
        from eth_account import Account
        from eth_account.messages import encode_defunct

        account = Account.from_key(private_key)
        if signature is None:
            signed = Account.sign_message(encode_defunct(text=vote_message(proposal_id, option)), private_key)
            signature = "0x" + signed.signature.hex().removeprefix("0x")
        body = {
            "proposal_id": proposal_id,
            "voter_address": account.address,
            "vote_option": option,
            "signature": signature,
        }
        return outcome_of(self.api.raw("POST", f"{PREFIX}/votes", json=body))

    def votes(self, proposal_id: str) -> list[dict[str, Any]]:
        return list(self.api.get(f"{PREFIX}/proposals/{proposal_id}/votes", key="data"))

    def results(self, proposal_id: str) -> dict[str, Any]:
        return self.api.get(f"{PREFIX}/proposals/{proposal_id}/results", key="data")

"""Vote signatures: EIP-191 personal_sign over a fixed, human-readable message.

A wallet shows the voter exactly what it signs, and the service recovers the signer's address from the
signature, so a vote counts only for the key that cast it.
"""

from __future__ import annotations

import re

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import is_address, to_checksum_address

VOTE_MESSAGE_FORMAT = "371OS vote\nproposal: {proposal_id}\noption: {vote_option}"
_SIGNATURE = re.compile(r"^(0x)?[0-9a-fA-F]{130}$")


class InvalidSignatureError(ValueError):
    pass


def vote_message(proposal_id: str, vote_option: str) -> str:
    """The exact text a voter signs with personal_sign."""
    return VOTE_MESSAGE_FORMAT.format(proposal_id=proposal_id, vote_option=vote_option)


def sign_vote(private_key: str, proposal_id: str, vote_option: str) -> str:
    """Client side: the 0x-hex signature of a vote (what a wallet's personal_sign returns)."""
    signed = Account.sign_message(encode_defunct(text=vote_message(proposal_id, vote_option)), private_key)
    return "0x" + signed.signature.hex().removeprefix("0x")


def recover_voter(proposal_id: str, vote_option: str, signature: str) -> str:
    """The checksummed address that signed this vote; raises InvalidSignatureError if none can be recovered."""
    if not _SIGNATURE.match(signature):
        raise InvalidSignatureError("signature must be a 65-byte hex string")
    try:
        address = Account.recover_message(
            encode_defunct(text=vote_message(proposal_id, vote_option)), signature=signature
        )
    except Exception as exc:  # eth_account raises several types for a malformed signature
        raise InvalidSignatureError(f"signature cannot be recovered: {type(exc).__name__}") from exc
    return to_checksum_address(address)


def normalize_address(value: str) -> str:
    """Checksummed form of an Ethereum address; raises ValueError for anything else."""
    if not isinstance(value, str) or not is_address(value):
        raise ValueError("not an Ethereum address (0x followed by 40 hex digits)")
    return to_checksum_address(value)

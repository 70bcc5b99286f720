@beta
Feature: Results are verified on the blockchain
  The harness trusts only the chain. It recomputes each delivered email's verification hash from the
  mailbox's copy, finds that hash anchored by the target's registry contract, and reads the DAO's tally
  and outcome from the governance contract, every transaction confirmed by its receipt. Each confirmation
  is recorded with its transaction hash.

  Background:
    Given the 371OS target is reachable
    And the target's chain answers with the chain id its profile declares

  @criterion.chain.verification @critical
  Scenario: Every email of a delivered campaign is anchored on chain
    Given a member has run a campaign for 2 recipients that needs no DAO vote
    Then each delivered email's hash, recomputed from the mailbox, is anchored on chain
    And the anchor transactions the API reports are the ones on chain

  @criterion.chain.verification @critical
  Scenario: The DAO contract's tally and outcome of a proposal equal the API's
    Given a proposal has been voted for by the CEO and the CFO and approved
    Then the DAO contract's tally and outcome equal the API's
    And the DAO contract records the proposal as executed

  @criterion.chain.verification
  Scenario: An email altered after delivery no longer verifies
    Given a member has run a campaign for 2 recipients that needs no DAO vote
    When the content of a delivered email is altered
    Then the hash recomputed from the altered email is not anchored on chain

  @criterion.chain.verification
  Scenario: The DAO contract refuses a second vote by the same voter
    Given voting on a proposal has started and the CEO has voted
    Then the DAO contract refuses a second vote by the CEO

  @criterion.beta.campaigns-confirmed
  Scenario: The harness runs the Closed Beta's email campaigns and confirms each on chain
    When the harness runs as many campaigns as the Closed Beta requires
    Then each of those campaigns is confirmed on chain

  @criterion.beta.proposals-confirmed
  Scenario: The harness carries the Closed Beta's DAO proposals to execution and confirms each on chain
    When the harness carries as many DAO proposals to execution as the Closed Beta requires
    Then each of those proposals is confirmed on chain

  Scenario: What beta users completed on the target counts only as far as the chain confirms it
    When the harness gathers the campaigns completed and the proposals executed on the target
    Then each is counted as confirmed only if the chain confirms it

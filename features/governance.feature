@alpha
Feature: DAO proposals
  Proposals move from draft to a vote, are tallied by voting power from signed ballots, and are
  executed only after a human approves the outcome.

  Background:
    Given the 371OS target is reachable
    And a proposal has been drafted

  @criterion.core.dao-lifecycle @critical @uat
  Scenario: A proposal goes through its whole lifecycle
    When it is submitted and voting starts
    And the CEO, the CFO and the CLO vote for it with signed ballots
    And voting closes
    Then the tally counts every signed vote with its voting power
    And the proposal awaits human approval
    When an administrator approves it
    Then the proposal is executed

  @criterion.core.dao-lifecycle
  Scenario: Voting cannot start on a draft
    When someone tries to start voting on the draft
    Then the request is refused

  @criterion.core.dao-lifecycle
  Scenario: A voter cannot vote twice
    Given voting on it has started
    When the CFO votes twice
    Then the request is refused

  @criterion.core.dao-lifecycle
  Scenario: A ballot with a forged signature is refused
    Given voting on it has started
    When a ballot for the CLO arrives with a forged signature
    Then the request is refused

@alpha
Feature: The end-to-end data flow
  One campaign crosses every part of 371OS (readiness report §5): a member initiates it, the cognitive
  engine optimizes it, the executive agents review it, the DAO decides it, the mail conduit executes it,
  the blockchain verifies it and analytics count it. The harness checks each hand-over where it happens.

  Background:
    Given the 371OS target is reachable
    And the target's chain answers with the chain id its profile declares

  @criterion.core.e2e-data-flow @critical @uat
  Scenario: A campaign travels from its initiation to verified results and analytics
    When a member initiates a campaign for 2 recipients that needs a DAO vote
    Then the cognitive engine has recorded its optimizations
    And the CEO, CFO and CLO agents have each reviewed it
    And a DAO proposal for the campaign awaits its vote
    And no email has gone out while the vote is open
    When the CEO and the CFO vote for the campaign's proposal and an administrator approves the outcome
    Then the campaign completes
    And every recipient has received exactly one email
    And each delivered email's hash, recomputed from the mailbox, is anchored on chain
    And the DAO contract records the campaign's proposal as executed
    And the analytics dashboard counts the campaign and its emails

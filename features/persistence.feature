@alpha
Feature: Data persistence
  Active workflows and pending approvals live in persistent storage, so a crash loses nothing.
  The framework makes this a prerequisite of Internal Alpha (§7).

  Background:
    Given the 371OS target is reachable

  @criterion.data.persistence @critical
  Scenario: Pending approvals survive a hard restart of the conduit
    Given a member has created a campaign that waits for manual approval
    And its approvals are pending
    When the conduit is killed and restarted
    Then the campaign still waits for the same approvals

  @criterion.data.persistence @critical
  Scenario: An approved workflow finishes after a hard restart of the conduit
    Given a member has created a campaign that waits for manual approval
    And the conduit is killed and restarted
    When the CEO, the CFO and the CLO each approve it with a reason
    Then the campaign completes

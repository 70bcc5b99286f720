@alpha
Feature: Email campaigns
  Campaign managers create email campaigns. The cognitive engine optimizes them, the executive agents
  review them, and the mail conduit delivers them, each email with a verification hash.

  Background:
    Given the 371OS target is reachable

  @criterion.core.campaign-creation @critical
  Scenario: A new campaign is accepted for review and optimized
    When a member creates a campaign for 3 recipients
    Then the campaign is accepted for review
    And the cognitive engine has recorded its optimizations

  @criterion.core.campaign-delivery @critical @uat
  Scenario: An approved campaign reaches every recipient once
    Given a member has created a campaign for 3 recipients that needs no DAO vote
    Then the campaign completes
    And every recipient has received exactly one email
    And each delivered email carries a verification hash that anyone can recompute

@beta
Feature: Business intelligence
  The analytics dashboard is only useful if it agrees with the records it summarizes.

  Background:
    Given the 371OS target is reachable

  @criterion.beta.analytics @uat
  Scenario: The dashboard reconciles with the campaign records
    Given a member has created a campaign for 2 recipients that needs no DAO vote
    Then the campaign completes
    And the analytics dashboard agrees with the campaign records

@preconditions
Feature: Environment configuration and seeding
  Mock and production environments stay apart (framework §3), and a new environment starts with the
  data new users need (§4).

  Background:
    Given the 371OS target is reachable

  @criterion.env.separation
  Scenario: The configuration matches the environment the target claims
    Then every service's configuration matches the environment the target claims

  @criterion.seeding.initial-data
  Scenario: The target is seeded for new users
    Then the default email templates are present
    And the pre-configured agent profiles are present
    And the initial DAO proposals are present

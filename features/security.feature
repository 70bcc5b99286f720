@preconditions
Feature: Access control and secrets
  Only authenticated callers change anything, users see only their own data, and secrets stay hidden
  (framework §7).

  Background:
    Given the 371OS target is reachable

  @criterion.security.access-control @critical
  Scenario Outline: Mutating actions refuse anonymous callers
    When an anonymous caller tries to <action>
    Then the request is refused as unauthenticated

    Examples:
      | action                |
      | create a campaign     |
      | send an email         |
      | create a proposal     |
      | cast a vote           |
      | publish a social post |
      | leave feedback        |

  @criterion.security.access-control
  Scenario: Browsers keep pages of other origins away from the API
    Then a page on a foreign origin may neither read from nor write to any API

  @criterion.security.access-control @critical
  Scenario: A member cannot read another member's campaign
    Given member alice has created a campaign
    When member bob asks for that campaign
    Then the campaign is not shown to them

  @criterion.security.access-control
  Scenario: A member cannot decide for the CFO
    Given a member has created a campaign that waits for manual approval
    When a member tries to decide an approval meant for the CFO
    Then the decision is refused for lack of the role

  @criterion.security.secrets
  Scenario: Configuration views reveal no secret
    Then no service's configuration view reveals a secret

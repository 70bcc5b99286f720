@alpha
Feature: Agent approvals
  The CEO, CFO and CLO agents review every campaign by their written rules. Executives can also decide
  by hand, from their own inboxes, with a reason.

  Background:
    Given the 371OS target is reachable

  @criterion.core.agent-approvals @critical
  Scenario Outline: Each executive agent rejects a campaign that breaks its rule
    When a member creates a campaign that breaks the rule of <agent>
    Then the campaign is rejected by <agent>

    Examples:
      | agent    |
      | ceo_mimi |
      | cfo_maya |
      | clo_sage |

  @criterion.core.agent-approvals @uat
  Scenario: Executives approve a campaign from their inboxes
    Given a member has created a campaign that waits for manual approval
    When the CEO, the CFO and the CLO each approve it with a reason
    Then the campaign completes

  @criterion.core.agent-approvals @uat
  Scenario: One executive's rejection stops the campaign
    Given a member has created a campaign that waits for manual approval
    When the CFO rejects it with a reason
    Then the campaign is rejected
    And no email was sent for it

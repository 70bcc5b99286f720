Feature: What testers and users say
  Closed Beta testers and Public Launch users answer on the target's feedback form, filed under the phase,
  or in a survey tool whose export the profile names. The harness gathers every answer; each tester's latest
  counts, and gates.yaml says what share must be positive. Nobody having answered is inconclusive, not a pass.

  Background:
    Given the 371OS target is reachable

  @beta @criterion.beta.feedback-positive
  Scenario: The Closed Beta testers' feedback is gathered
    When the harness gathers the feedback given in the Closed Beta
    Then the target's own summary agrees with the answers it holds

  @launch @criterion.launch.feedback-positive
  Scenario: The Public Launch users' feedback is gathered
    When the harness gathers the feedback given in the Public Launch
    Then the target's own summary agrees with the answers it holds

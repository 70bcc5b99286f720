Feature: Stability and scale under load
  Internal Alpha asks for 72 hours of stability under simulated load, Closed Beta for 99.9% uptime, and
  Public Launch for the first 1,000 users onboarded. A soak (`launchgate soak`) runs for hours on staging and
  judges every window; these scenarios read what it recorded, and are inconclusive without it, never passed.
  The onboarding rehearsal is short enough to run here: new users sign up, verify their address from the
  mail, log in and create a first campaign, each through the target's own routes.

  Background:
    Given the 371OS target is reachable

  @alpha @criterion.alpha.stability @critical
  Scenario: The system stayed stable for 72 hours under simulated load
    Given the soak run the harness was pointed to
    Then every analysis window of the soak passed its checks
    And the soak lasted as long as the Internal Alpha asks

  @beta @criterion.beta.uptime
  Scenario: The system was up 99.9% of the time
    Given the soak run the harness was pointed to
    Then the soak's probes measured how much of the time every service was up

  @launch @criterion.launch.users-onboarded @critical
  Scenario: The first 1,000 users are onboarded in a rehearsal
    When the harness onboards as many new users as the Public Launch requires
    Then each of them signed up, verified their address from the mail, logged in and created a first campaign

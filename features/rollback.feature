@preconditions
Feature: Rollback
  A new version can go live and be rolled back without failing a request: a blue-green switch, and a canary
  that gets a small share of the traffic first (framework §6). How large a share, how many requests and how much
  worse than the live version a canary may do are the gate's numbers (gates.yaml, rollback.canary).

  Every deploy action is a command the profile names under [hooks]: deploy (start a version in a slot),
  switch (send all traffic to a slot), canary (send a share to a slot) and rollback (undo the last switch,
  or end the canary). Which version served a request is read from the X-LG-Slot header of its answer.
  During a switch the harness keeps a few requests per second flowing through the gateway, on loopback
  targets only.

  Background:
    Given the 371OS target is reachable

  @criterion.rollback.blue-green
  Scenario: Traffic switches to a new version and back without a failed request
    Given a new version is deployed beside the live one
    And light traffic flows through the gateway
    When traffic is switched to the new version
    Then the new version serves the traffic
    When traffic is rolled back to the previous version
    Then the previous version serves the traffic
    And no request failed during the switches

  @criterion.rollback.canary
  Scenario: A canary gets its share of the traffic and fails no more than the baseline
    Given a new version is deployed as a canary
    When the canary is given its share of the traffic
    And requests go through the gateway
    Then the canary served close to its share of them
    And the canary's error rate is not above the baseline's by more than the gate allows

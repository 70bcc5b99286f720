@preconditions
Feature: Data readiness
  Sensitive data is encrypted at rest and in transit, and the databases can be snapshotted and restored to a
  point in time (framework §6 and §7).

  Encryption at rest is judged from what the database holds: the harness stores a third-party key it knows
  through the API, then looks for it, plain or merely encoded, in the stored rows and bytes, and does the same
  for passwords. That needs read access to the database (the profile's [database]); without it the criterion
  is inconclusive.

  Encryption in transit: every endpoint of the target uses https, and plain http on the same host is refused
  or redirected to https. An endpoint on the loopback interface is exempt, because its traffic never leaves
  the host: a target whose endpoints are all on loopback, such as the embedded reference stack, passes on that
  ground, and its evidence says so in its notes.

  Snapshots and restores go through the profile's [hooks] snapshot and restore commands.

  Background:
    Given the 371OS target is reachable

  @criterion.data.encryption-at-rest @critical
  Scenario: Stored third-party keys and passwords cannot be read in the database
    Given a member has signed up with a password
    When the member connects a third-party API key
    Then the stored key cannot be read from the database
    And no password is stored in plain text

  @criterion.data.tls
  Scenario: Traffic that leaves its host is encrypted
    Then every endpoint that traffic reaches over the network uses https

  @criterion.data.backup-recovery
  Scenario: Data changed after a snapshot is recovered from it
    Given the target's database can be snapshotted and restored
    And a proposal has been drafted
    And the member has connected a third-party API key
    When a database snapshot is taken
    And the proposal is submitted
    And the member connects another API key
    And the database is restored from the snapshot
    Then the submission of the proposal is undone
    And the member's first key is connected again
    And every service answers its health check as operational

  @criterion.rollback.db-snapshot
  Scenario: Restoring a snapshot returns the data to that point in time
    Given the target's database can be snapshotted and restored
    And a proposal has been drafted
    When a database snapshot is taken
    And another proposal is drafted
    And the database is restored from the snapshot
    Then the first proposal is still there
    And the later proposal is gone

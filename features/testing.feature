@preconditions
Feature: Testing and validation
  New code comes with unit tests, and integration tests show that the services work together
  (framework §5).

  Line coverage is read from the coverage report of the target's own test run, which the profile names
  ([files] coverage: Cobertura XML, lcov or coverage.py JSON), and recorded as a measurement; gates.yaml says
  how much is enough. Integration results are read from the JUnit file that the profile's integration command
  writes ([hooks] integration), or from one it names ([files] integration_junit).

  Background:
    Given the 371OS target is reachable

  @criterion.testing.coverage
  Scenario: The line coverage of the target's tests is measured
    Then the line coverage of the target's tests is measured

  @criterion.testing.integration
  Scenario: The integration tests of every service pass
    When the target's integration tests run
    Then every integration test passes

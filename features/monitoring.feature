@preconditions
Feature: Monitoring
  Every service reports its health truthfully, dependencies included, and exposes metrics for
  Prometheus (framework §6).

  Background:
    Given the 371OS target is reachable

  @criterion.monitoring.health
  Scenario: Every service is healthy
    Then every service answers its health check as operational

  @criterion.monitoring.health
  Scenario: A service whose dependency is down says so
    When the mail sink goes down
    Then the conduit reports itself degraded, naming its mail dependency

  @criterion.monitoring.metrics
  Scenario: Every service exposes its metrics
    Then every service exposes request, latency and memory metrics

@alpha
Feature: The 371OS contract
  Every service answers as the 371OS contract says: the routes, bodies, answers and errors of
  fixtures/openapi/, written from the contract. Requests generated from it get documented answers, never a
  server error, and every route it lists can be reached.

  Background:
    Given the 371OS target is reachable
    And the 371OS contract as OpenAPI documents

  @criterion.contract.conformance @critical
  Scenario: Requests generated from the contract get the answers it documents
    When requests generated from the contract are sent to each of its services
    Then no answer is a server error, an undocumented status or a body the contract does not allow

  @criterion.contract.conformance @critical
  Scenario: Every route of the contract can be reached
    When each route of the contract without an id is asked for
    Then every one of them answers as itself, none taken for an id

  @criterion.contract.conformance
  Scenario: Reading a proposal changes nothing
    Given a proposal has been drafted
    And voting on it has started
    When the CEO, the CFO and the CLO vote for it with signed ballots
    And each view of the proposal the contract lists is read, and those read before it again
    Then no reading changed what another view answers

  @criterion.chain.verification
  Scenario: Every transaction a ballot's answer claims is a real one
    Given a proposal has been drafted
    And voting on it has started
    When the CEO, the CFO and the CLO vote for it with signed ballots
    Then every transaction the answers claim is a transaction hash that the target's chain confirms

  @criterion.contract.conformance
  Scenario: An email sent with the contract's default options is accepted
    When an ordinary email is sent with the options the contract gives by default
    Then it is accepted, or refused for something in its own content

@alpha
Feature: Social media posting
  Members publish to their social channels through the Postiz integration. The harness does not take the
  371OS API's word that a post went out: it reads the post back from Postiz itself.

  Background:
    Given the 371OS target is reachable

  @criterion.core.social-posting @critical @uat
  Scenario: A post is published to every platform it names
    When a member publishes a post to linkedin and twitter
    Then the API reports the post published
    And Postiz holds the post, published, for linkedin and twitter
    And the post's engagement can be read for each platform

@failover
Feature: Fail over from us-east-1 to us-west-2
  The runbook's failover, stage by stage. Each stage checks the real state first, so it can
  run alone (against a running simulation or live) and resume an interrupted drill; work
  already done is recognised, never done twice. RTO budgets are business minutes: a
  simulation's time scale shrinks the clock, never the figures.

  @destructive @stage_1
  Scenario: The primary region is down, or fenced in a planned failover
    Given the RTO budget of this stage is 5 minutes
    And the platform is where this stage starts
    When the primary region is confirmed down or fenced
    Then the primary writer no longer takes writes

  @destructive @stage_2
  Scenario: The DR replica becomes a standalone writer
    Given the RTO budget of this stage is 15 minutes
    And the platform is where this stage starts
    And the DR region holds the database replica or its promoted writer
    When the DR replica is promoted to a standalone writer
    Then the only available writer is in the secondary region

  @destructive @stage_3
  Scenario: Clients reach the DR load balancer
    Given the RTO budget of this stage is 5 minutes
    And the platform is where this stage starts
    When clients are routed to the DR load balancer
    Then the public name resolves to the secondary region

  @destructive @stage_4
  Scenario: DR is scaled to the failover capacity
    Given the RTO budget of this stage is 15 minutes
    And the platform is where this stage starts
    When the DR node group and every service are scaled to the failover capacity
    Then every DR deployment has 4 ready replicas

  @destructive @stage_5
  Scenario: DR serves traffic
    Given the RTO budget of this stage is 5 minutes
    And the platform is where this stage starts
    When DR is checked end to end with a GET of /api/v1/merchants/status expecting 200
    Then the public endpoint reports UP from the secondary region
    And a consumer in DR resumes the business topic where the primary's consumer group stopped

@failback
Feature: Fail back from us-west-2 to us-east-1
  The way home once the primary region is healthy again: no split brain, data resynced,
  traffic shifted back gradually with an automatic stop, and the standby state restored so
  that the readiness preflight passes again.

  @destructive @stage_1
  Scenario: The primary infrastructure is back and the old writer takes no writes
    Given the RTO budget of this stage is 15 minutes
    And the platform is where this stage starts
    When the restored primary region is checked and any old writer is fenced
    Then the only available writer is in the secondary region

  @destructive @stage_2
  Scenario: Data is resynced to the primary region
    Given the RTO budget of this stage is 60 minutes
    And the platform is where this stage starts
    When the data is resynced with a replication latency under 5 seconds
    Then the failback replica in the primary region replicates from the writer

  @destructive @stage_3
  Scenario: Traffic shifts back gradually and stops on degradation
    Given the RTO budget of this stage is 30 minutes
    And the platform is where this stage starts
    When traffic shifts back in steps of 10/90, 50/50, 90/10, 100/0 soaking 2 minutes each while 5XX stay under 5 per minute and latency under 1.5 seconds
    Then the public name resolves to the primary region

  @destructive @stage_4
  Scenario: The platform is back in its steady state
    Given the RTO budget of this stage is 60 minutes
    And the platform is where this stage starts
    When the writer moves back to the primary region by a planned switchover
    Then the only available writer is in the primary region
    And the failover pair points each record at its own region's load balancer
    And the readiness preflight passes again

@rpo
Feature: Measured data loss (RPO)
  During a game day the suite writes timestamped canaries into a dedicated canary table (and
  a dedicated canary topic) in the primary region until the outage. After the failover, the
  newest canary found in DR with every earlier one also found gives the loss window. Canaries are written only by game
  days, never by the readiness checks, and never into business data.

  Scenario: DynamoDB data loss stays within the RPO target
    When the canaries the primary acknowledged before the outage are looked up in DR
    Then the DynamoDB data loss window is within 5 seconds

  Scenario: RDS data loss stays within the RPO target
    When the RDS canaries the primary acknowledged before the outage are looked up in DR
    Then the RDS data loss window is within 5 seconds

  # Canary messages on a dedicated canary topic of the primary MSK cluster, read in DR on the
  # topic the replicator copies it to (its alias prefix, unless it keeps names identical).
  # Without Kafka access or a broker it is skipped as "not measured", with the reason.
  Scenario: MSK data loss stays within the RPO target
    When the MSK canaries the primary acknowledged before the outage are looked up in DR
    Then the MSK data loss window is within 5 seconds

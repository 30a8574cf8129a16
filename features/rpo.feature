@rpo
Feature: Measured data loss (RPO)
  During a game day the suite writes timestamped canaries into a dedicated canary table in
  the primary region until the outage. After the failover, the newest canary found in DR
  with every earlier one also found gives the loss window. Canaries are written only by game
  days, never by the readiness checks, and never into business data.

  Scenario: DynamoDB data loss stays within the RPO target
    When the canaries the primary acknowledged before the outage are looked up in DR
    Then the DynamoDB data loss window is within 5 seconds

  Scenario: RDS data loss stays within the RPO target
    When the RDS canaries the primary acknowledged before the outage are looked up in DR
    Then the RDS data loss window is within 5 seconds

@replication
Feature: Cross-region replication
  The runbook's "DynamoDB Global Table Status" and "MSK Cross-Region Replication" sections as
  outcomes. Read-only: safe against production at any time. The figures are business figures,
  the same for the simulation and for production.

  Scenario: The merchant analytics global table replicates in both regions
    Then the DynamoDB global table is ACTIVE in both regions
    And the DynamoDB replication latency to DR is under 5 seconds
    And the DynamoDB replication latency back to the primary is under 5 seconds

  Scenario: Kafka topics replicate from the primary cluster to DR
    Then both MSK clusters are ACTIVE
    And the MSK replicator is RUNNING with replication latency under 60 seconds

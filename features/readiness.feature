@readiness
Feature: DR readiness preflight
  Read-only checks that the DR region can take a failover right now. They change nothing,
  so they are safe against production at any time and on a schedule. Every threshold below
  is a business figure, the same for the simulation and for production.

  Scenario: Both EKS clusters are active with every node Ready
    Then the EKS cluster in the primary region is ACTIVE
    And the EKS cluster in the secondary region is ACTIVE
    And every Kubernetes node in the primary region is Ready
    And every Kubernetes node in the secondary region is Ready

  Scenario: The DR region can take the failover capacity
    Then the DR node group can take a scaling update
    And every primary deployment also exists in DR
    And the DR node group's subnets have free addresses for 20 nodes and 30 pods per node
    And no DR autoscaler would hold a deployment away from 4 replicas

  # Skipped, with the reason, where the quota service has no value for the quota (the
  # simulation has none): an unanswered quota is never a pass.
  Scenario: The DR region's EC2 quota covers the failover nodes
    Then the DR region's EC2 On-Demand vCPU quota covers 20 nodes

  Scenario: DR can run the services' images with their secrets
    Then every image the DR deployments run is in the DR region's own registry
    And these secrets the services need are replicated to DR:
      | secret                      |
      | maip/prod/db-credentials    |
      | maip/prod/kafka-credentials |

  Scenario: The database replicates to DR within its lag budget
    Then one RDS writer is available with automated backups and a replica in the other region
    And the RDS replica lag is under 60 seconds

  # Failback 2 names its replica with whichever of the primary region's two database names is
  # free and refuses when both are in use: found here, before the failover, not at failback 2.
  Scenario: The database can fail back after a failover
    Then failback 2 has a free name for its replica in the primary region

  Scenario: The databases say they are a writer and a streaming standby
    Then PostgreSQL says the RDS writer is a writer and its replica a standby within 60 seconds

  Scenario: The merchant analytics table replicates to DR
    Then the DynamoDB global table is ACTIVE in both regions
    And the DynamoDB replication latency to DR is under 5 seconds

  Scenario: Kafka replicates to DR
    Then both MSK clusters are ACTIVE
    And the MSK replicator is RUNNING with replication latency under 60 seconds

  # Read-only: the replicator's topic naming from the MSK API, and with broker access the
  # canary topic's offsets on both sides (never a write; skipped as "not checked" without
  # Kafka access or before any game day wrote canaries).
  Scenario: Kafka consumers in DR find every canary record
    Then consumers in DR know the replicated topic names
    And the replicated canary topic in DR holds every canary record of the primary

  Scenario: Clients can be switched to DR
    Then the API's failover record pair exists with healthy health checks
    And the DR load balancer is active
    And the DR load balancer has at least 1 healthy target in every target group
    And the public endpoint reports UP
    And the API's TLS certificate stays valid for at least 14 more days

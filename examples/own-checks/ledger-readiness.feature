@readiness
Feature: Ledger team readiness
  The ledger team's own preflight, run beside the runbook's readiness checks with
  `maip-dr readiness --features examples/own-checks` (or `[features] paths` in the config).
  Every step comes from the suite's catalogue (`maip-dr steps`); nothing here is Python.

  The names are those the embedded simulation seeds, so the example passes there: the
  simulation has only the runbook's two database instances, so the database check names the
  DR replica; on your platform, name your own instance and deployment.

  Scenario: The ledger database has a replica in DR
    Then the RDS instance "maip-prod-postgres-replica" in the secondary region is an available read replica

  Scenario: The ledger service runs in both regions
    Then the deployment "ledger-service" in namespace "maip-services" has at least 1 ready replica in the secondary region
    And the deployment "ledger-service" in namespace "maip-services" has at least 2 ready replicas in the primary region

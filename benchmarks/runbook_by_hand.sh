# The facts `maip-dr readiness` checks, gathered by hand: one command per fact, written as the
# runbook writes its commands (its own commands verbatim where it has them). Sourced after the
# simulation's env file (`maip-dr sim up --env-file`), which defines maip-prod, maip-prod-dr and
# the aws/kubectl/curl wrappers. Each command's exit code is counted; MAIP_BENCH_NO_KUBECTL=1
# leaves the kubectl commands out. Read-only.
failed=0; ran=0
fact() { ran=$((ran + 1)); "$@" >/dev/null 2>&1 || { failed=$((failed + 1)); echo "failed: $*" >&2; }; }
kfact() { [ -n "${MAIP_BENCH_NO_KUBECTL:-}" ] || fact "$@"; }
SVC_NS=maip-services

maip-prod
fact aws eks describe-cluster --name maip-prod-eks-cluster --query cluster.status
kfact kubectl get nodes
fact aws rds describe-db-instances --db-instance-identifier maip-prod-postgres \
  --query 'DBInstances[0].[DBInstanceStatus,BackupRetentionPeriod,ReadReplicaDBInstanceIdentifiers]'
kfact kubectl get deployments -n $SVC_NS
fact aws dynamodb describe-table --table-name maip-prod-merchant-analytics --query 'Table.Replicas'
fact aws cloudwatch get-metric-statistics \
  --namespace AWS/DynamoDB \
  --metric-name ReplicationLatency \
  --dimensions Name=TableName,Value=maip-prod-merchant-analytics \
               Name=ReceivingRegion,Value=us-west-2 \
  --start-time $(date -u -d '1 hour ago' +%Y-%m-%dT%H:%M:%SZ) \
  --end-time $(date -u +%Y-%m-%dT%H:%M:%SZ) \
  --period 300 --statistics Average
fact aws kafka list-clusters-v2 --cluster-name-filter maip-prod-kafka \
  --query 'ClusterInfoList[0].State'
ZONE_ID=$(aws route53 list-hosted-zones \
  --query "HostedZones[?Name=='maip.example.com.'].Id" --output text); ran=$((ran + 1))
fact aws route53 list-resource-record-sets --hosted-zone-id "$ZONE_ID" \
  --query "ResourceRecordSets[?Name=='api.maip.example.com.']"
for HC in $(aws route53 list-resource-record-sets --hosted-zone-id "$ZONE_ID" \
    --query "ResourceRecordSets[?Name=='api.maip.example.com.' && Failover].HealthCheckId" \
    --output text); do
  fact aws route53 get-health-check-status --health-check-id "$HC"
done
ran=$((ran + 1))
for SECRET in maip/prod/db-credentials maip/prod/kafka-credentials; do
  fact aws secretsmanager describe-secret --secret-id "$SECRET" --query ReplicationStatus
done
fact curl -fsS https://api.maip.example.com/actuator/health
tls_expiry() { curl -sv -o /dev/null https://api.maip.example.com/ 2>&1 | grep 'expire date'; }
fact tls_expiry

maip-prod-dr
fact aws eks describe-cluster --name maip-prod-dr-eks-cluster --query cluster.status
kfact kubectl get nodes
fact aws eks describe-nodegroup --cluster-name maip-prod-dr-eks-cluster \
  --nodegroup-name maip-prod-dr-nodegroup --query 'nodegroup.[status,subnets,instanceTypes]'
fact aws eks list-updates --name maip-prod-dr-eks-cluster --nodegroup-name maip-prod-dr-nodegroup
kfact kubectl get deployments -n $SVC_NS
fact aws rds describe-db-instances --db-instance-identifier maip-prod-postgres-replica \
  --query 'DBInstances[0].DBInstanceStatus'
fact aws cloudwatch get-metric-statistics --namespace AWS/RDS --metric-name ReplicaLag \
  --dimensions Name=DBInstanceIdentifier,Value=maip-prod-postgres-replica \
  --start-time $(date -u -d '10 minutes ago' +%Y-%m-%dT%H:%M:%SZ) \
  --end-time $(date -u +%Y-%m-%dT%H:%M:%SZ) --period 60 --statistics Maximum
fact aws dynamodb describe-table --table-name maip-prod-merchant-analytics --query 'Table.Replicas'
fact aws kafka list-clusters-v2 --cluster-name-filter maip-prod-dr-kafka \
  --query 'ClusterInfoList[0].State'
fact aws kafka list-replicators \
  --query "Replicators[?contains(ReplicatorName, 'maip')].{Name:ReplicatorName,State:CurrentState}"
fact aws cloudwatch get-metric-statistics --namespace AWS/Kafka --metric-name ReplicationLatency \
  --dimensions Name=ReplicatorName,Value=maip-prod-msk-replicator \
  --start-time $(date -u -d '10 minutes ago' +%Y-%m-%dT%H:%M:%SZ) \
  --end-time $(date -u +%Y-%m-%dT%H:%M:%SZ) --period 60 --statistics Maximum
ALB_ARN=$(aws elbv2 describe-load-balancers --names maip-prod-dr-alb \
  --query 'LoadBalancers[0].LoadBalancerArn' --output text); ran=$((ran + 1))
fact aws elbv2 describe-load-balancers --names maip-prod-dr-alb \
  --query 'LoadBalancers[0].State.Code'
SUBNETS=$(aws eks describe-nodegroup --cluster-name maip-prod-dr-eks-cluster \
  --nodegroup-name maip-prod-dr-nodegroup --query 'nodegroup.subnets' --output text)
ran=$((ran + 1))
fact aws ec2 describe-subnets --subnet-ids $SUBNETS --query 'Subnets[].AvailableIpAddressCount'
fact aws ec2 describe-instance-types --instance-types m6i.xlarge \
  --query 'InstanceTypes[0].VCpuInfo.DefaultVCpus'
# Service Quotas does not answer in the simulation (the suite reports "not checked").
ran=$((ran + 1)); aws service-quotas get-service-quota --service-code ec2 \
  --quota-code L-1216C47A >/dev/null 2>&1 || true
kfact kubectl get hpa -n $SVC_NS
IMAGES=""
if [ -z "${MAIP_BENCH_NO_KUBECTL:-}" ]; then
  IMAGES=$(command kubectl --request-timeout=5s get deployments -n $SVC_NS \
    -o jsonpath='{range .items[*]}{.spec.template.spec.containers[*].image}{"\n"}{end}')
  ran=$((ran + 1))
fi
for IMAGE in $(printf '%s\n' $IMAGES | sort -u); do
  REPO=${IMAGE#*/}; REPO=${REPO%:*}; TAG=${IMAGE##*:}
  fact aws ecr describe-images --repository-name "$REPO" --image-ids imageTag="$TAG"
done
for SECRET in maip/prod/db-credentials maip/prod/kafka-credentials; do
  fact aws secretsmanager describe-secret --secret-id "$SECRET" --query ReplicationStatus
done
for TG in $(aws elbv2 describe-target-groups --load-balancer-arn "$ALB_ARN" \
    --query 'TargetGroups[].TargetGroupArn' --output text); do
  fact aws elbv2 describe-target-health --target-group-arn "$TG"
done
ran=$((ran + 1))
echo "commands=$ran failed=$failed"

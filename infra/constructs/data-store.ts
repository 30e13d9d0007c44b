/**
 * The product's state: DynamoDB tables (requests, grant ledger, audit, bot conversations), the
 * audit event bus and the dead-letter queue for undeliverable events.
 *
 * Encryption: one customer-managed KMS key (rotated yearly) for the tables and the alarm topic.
 * The requests table holds the Step Functions task tokens and every justification; with a CMK,
 * a principal needs kms:Decrypt on THIS key as well as dynamodb:GetItem to read them, so broad
 * read-only roles (ReadOnlyAccess grants dynamodb:GetItem and Scan, not kms:Decrypt) cannot.
 */
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { TABLE_SCHEMAS } from './table-schemas';

export interface DataStoreProps {
  prefix: string;
  protectData: boolean;
}

export class DataStore extends Construct {
  readonly key: kms.Key;
  readonly requests: dynamodb.Table;
  readonly ledger: dynamodb.Table;
  readonly audit: dynamodb.Table;
  readonly conversations: dynamodb.Table;
  readonly bus: events.EventBus;
  readonly dlq: sqs.Queue;

  constructor(scope: Construct, id: string, props: DataStoreProps) {
    super(scope, id);
    const removalPolicy = props.protectData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.key = new kms.Key(this, 'Key', {
      alias: `alias/${props.prefix}`,
      description: 'Teams JIT Access: tables and alarm topic',
      enableKeyRotation: true,
      removalPolicy: props.protectData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(30),
    });
    // CloudWatch alarms publish to the KMS-encrypted alarm topic. The service principal acts for
    // any account, so the grant is bound to this stack's alarms (all named `<prefix>-...`, the
    // guardrails stack's too) in this account and Region: the confused-deputy conditions of
    // "Enable compatibility between event sources from AWS services and encrypted topics"
    // (Amazon SNS Developer Guide) and "The confused deputy problem" (IAM User Guide).
    const stack = Stack.of(this);
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToEncryptedTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:${props.prefix}-*` },
        },
      }),
    );

    const table = (name: keyof typeof TABLE_SCHEMAS): dynamodb.Table => {
      const schema = TABLE_SCHEMAS[name];
      const t = new dynamodb.Table(this, schema.constructId, {
        partitionKey: { name: schema.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: schema.sortKey ? { name: schema.sortKey, type: dynamodb.AttributeType.STRING } : undefined,
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryptionKey: this.key,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: props.protectData,
        removalPolicy,
        timeToLiveAttribute: schema.ttlAttribute,
      });
      for (const gsi of schema.indexes) {
        t.addGlobalSecondaryIndex({
          indexName: gsi.name,
          partitionKey: { name: gsi.partitionKey, type: dynamodb.AttributeType.STRING },
          sortKey: gsi.sortKey ? { name: gsi.sortKey, type: dynamodb.AttributeType.STRING } : undefined,
          projectionType: dynamodb.ProjectionType.ALL,
        });
      }
      return t;
    };
    this.requests = table('requests');
    this.ledger = table('ledger');
    // Append-only and kept for good: no TTL on the audit trail.
    this.audit = table('audit');
    // Conversation references go stale when a user leaves or a channel is deleted: TTL.
    this.conversations = table('conversations');

    this.bus = new events.EventBus(this, 'AuditBus', { eventBusName: `${props.prefix}-audit` });

    // Events that could not be delivered (expiry schedules, EventBridge rule targets, notice flushes
    // that failed past Lambda's asynchronous retries) land here;
    // an alarm fires on the first one. SSE-SQS so that Scheduler and EventBridge can write
    // without key-policy grants.
    this.dlq = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: `${props.prefix}-dlq`,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.dlq).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the expiry schedules, the EventBridge rule targets and the notify function\'s asynchronous invokes; its depth alarm is the escalation path.',
    });
  }
}

/**
 * DynamoDB ConversationStore for AWS. One table, string partition key `pk`, TTL attribute `ttl`
 * (epoch seconds) for notification ids:
 *   user#<aadObjectId>          conversation reference of a user's 1:1 chat
 *   channel                     the on-call channel reference
 *   card#<requestId>#<kind>     a posted card: written with conditions (create-if-absent, compare-and-set)
 *   notification#<id>           a processed notification id until it expires
 */
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { type CardKind, type CardRecord, type ConversationStore, type StoredReference, cardKey } from './types';

export interface DynamoStoreOptions {
  tableName: string;
  client?: DynamoDBDocumentClient;
}

const isConditionFailure = (e: unknown) =>
  e instanceof ConditionalCheckFailedException || (e as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException';

export class DynamoConversationStore implements ConversationStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(options: DynamoStoreOptions) {
    this.table = options.tableName;
    this.doc = options.client ?? DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
  }

  async saveUserReference(aadObjectId: string, reference: StoredReference): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.table, Item: { pk: `user#${aadObjectId.toLowerCase()}`, ref: reference, updatedAt: Date.now() } }));
  }

  async getUserReference(aadObjectId: string): Promise<StoredReference | undefined> {
    const r = await this.doc.send(new GetCommand({ TableName: this.table, Key: { pk: `user#${aadObjectId.toLowerCase()}` }, ConsistentRead: true }));
    return r.Item?.ref as StoredReference | undefined;
  }

  async saveChannelReference(reference: StoredReference): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.table, Item: { pk: 'channel', ref: reference, updatedAt: Date.now() } }));
  }

  async getChannelReference(): Promise<StoredReference | undefined> {
    const r = await this.doc.send(new GetCommand({ TableName: this.table, Key: { pk: 'channel' }, ConsistentRead: true }));
    return r.Item?.ref as StoredReference | undefined;
  }

  async getCard(requestId: string, kind: CardKind): Promise<CardRecord | undefined> {
    const r = await this.doc.send(new GetCommand({ TableName: this.table, Key: { pk: `card#${cardKey(requestId, kind)}` }, ConsistentRead: true }));
    if (!r.Item) return undefined;
    const { pk: _pk, ...record } = r.Item;
    return record as CardRecord;
  }

  async createCard(record: CardRecord): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: `card#${cardKey(record.requestId, record.kind)}`, ...record },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  async updateCard(next: CardRecord, expected: Pick<CardRecord, 'renderedVersion' | 'claimId'>): Promise<boolean> {
    const claimCondition = expected.claimId === undefined ? 'attribute_not_exists(claimId)' : 'claimId = :claim';
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: `card#${cardKey(next.requestId, next.kind)}`, ...next },
          ConditionExpression: `attribute_exists(pk) AND renderedVersion = :v AND ${claimCondition}`,
          ExpressionAttributeValues: expected.claimId === undefined ? { ':v': expected.renderedVersion } : { ':v': expected.renderedVersion, ':claim': expected.claimId },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  async claimNotification(id: string, nowMs: number, expiresAt: number): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: `notification#${id}`, expiresAt, ttl: Math.ceil(expiresAt / 1000) },
          // DynamoDB's TTL deletes lazily, so an expired item may still be there: it does not count.
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
          ExpressionAttributeValues: { ':now': nowMs },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  async releaseNotification(id: string): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.table, Key: { pk: `notification#${id}` } }));
  }
}

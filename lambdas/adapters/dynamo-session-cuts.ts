/**
 * The session cuts per permission set (core/services/session-cut.ts) in DynamoDB: items in the grant
 * ledger table, `pk` = `sessioncut#<permission set ARN>`, like the tracked findings (the functions
 * that revoke and reconcile already read and write that table: no new table or permission). Every
 * write is a compare-and-swap on `version`; the ledger adapter never lists these items.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isLiveSessionCut, type SessionCutState } from '../../core/model';
import type { SessionCutStore } from '../../core/ports';
import { LIVE_KIND } from './dynamo-live-index';
import { DynamoVersionedItems, type DynamoVersionedItemsOptions } from './dynamo-versioned-items';

export const SESSION_CUT_KEY_PREFIX = 'sessioncut#';

export type DynamoSessionCutStoreOptions = DynamoVersionedItemsOptions;

export class DynamoSessionCutStore extends DynamoVersionedItems<SessionCutState> implements SessionCutStore {
  constructor(doc: DynamoDBDocumentClient, options: DynamoSessionCutStoreOptions) {
    super(doc, options, { prefix: SESSION_CUT_KEY_PREFIX, idOf: (s) => s.permissionSetArn, name: 'Session cut state', liveKind: LIVE_KIND.sessionCut, isLive: isLiveSessionCut });
  }
}

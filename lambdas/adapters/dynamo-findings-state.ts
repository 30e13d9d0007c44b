/**
 * The product's tracked findings (core/services/findings.ts) in DynamoDB. They live in the grant
 * ledger table under their own key prefix, `pk` = `finding#<finding id>`: the functions that
 * import findings (workflow, revoke, reconcile, bridge) already read and write that table, so no
 * new table or permission is needed. Every write is a compare-and-swap on `version`. The ledger
 * adapter never lists them (its own partition of the live index, lambdas/adapters/dynamo-live-index.ts).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isLiveFinding, type TrackedFinding } from '../../core/model';
import type { FindingsStateStore } from '../../core/ports';
import { LIVE_KIND } from './dynamo-live-index';
import { DynamoVersionedItems, type DynamoVersionedItemsOptions } from './dynamo-versioned-items';

export const FINDING_KEY_PREFIX = 'finding#';

export type DynamoFindingsStateOptions = DynamoVersionedItemsOptions;

export class DynamoFindingsState extends DynamoVersionedItems<TrackedFinding> implements FindingsStateStore {
  constructor(doc: DynamoDBDocumentClient, options: DynamoFindingsStateOptions) {
    super(doc, options, { prefix: FINDING_KEY_PREFIX, idOf: (f) => f.id, name: 'Tracked finding', liveKind: LIVE_KIND.finding, isLive: isLiveFinding });
  }
}

/**
 * AWS KMS stand-in (awsJson1_1, `X-Amz-Target: TrentService.<Op>`): DescribeKey only, what the
 * deploy preflight calls for the Identity Center instance's customer managed key.
 *
 * Rules it enforces, as KMS does (AWS KMS API Reference, DescribeKey; kms 2014-11-01 model):
 * - KeyId is required, 1-2048 characters (ValidationException otherwise).
 * - KeyId may be a key id, a key ARN, an alias name (`alias/...`) or an alias ARN; a key in
 *   another account must be named by its key ARN or alias ARN ("To specify a KMS key in a
 *   different AWS account, you must use the key ARN or alias ARN").
 * - A malformed ARN is InvalidArnException; a key or alias that does not exist in this account
 *   and Region is NotFoundException (KMS keys are regional).
 * Known differences: key policies are not evaluated (any caller may describe any seeded key) and
 * requests are not signed, so the calling account is configured.
 */
import { type FaultKind, FaultQueue } from './faults';
import { AwsError, compact, epochSeconds } from './protocol';
import type { JsonRpcService } from './service';

export interface KmsKeySeed {
  /** arn:aws:kms:<region>:<account>:key/<key id> */
  arn: string;
  enabled?: boolean;
  keyState?: 'Creating' | 'Enabled' | 'Disabled' | 'PendingDeletion' | 'PendingImport' | 'PendingReplicaDeletion' | 'Unavailable' | 'Updating';
  keySpec?: string;
  keyUsage?: 'ENCRYPT_DECRYPT' | 'SIGN_VERIFY' | 'GENERATE_VERIFY_MAC' | 'KEY_AGREEMENT';
  keyManager?: 'AWS' | 'CUSTOMER';
  aliases?: string[];
  description?: string;
}

export interface KmsOptions {
  region: string;
  /** The account whose credentials call the stand-in. */
  callerAccountId: string;
  keys?: readonly KmsKeySeed[];
  now?: () => number;
}

const KEY_ARN = /^arn:(aws|aws-cn|aws-us-gov):kms:([a-z0-9-]+):(\d{12}):key\/(mrk-[a-f0-9]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const ALIAS_ARN = /^arn:(aws|aws-cn|aws-us-gov):kms:([a-z0-9-]+):(\d{12}):(alias\/[a-zA-Z0-9:/_-]+)$/;

export class KmsStandIn implements JsonRpcService {
  readonly targetPrefix = 'TrentService';
  readonly jsonVersion = '1.1' as const;
  readonly faults = new FaultQueue();
  private readonly keys: KmsKeySeed[];
  private readonly region: string;
  private readonly callerAccountId: string;
  private readonly createdAt: number;

  constructor(options: KmsOptions) {
    this.region = options.region;
    this.callerAccountId = options.callerAccountId;
    this.createdAt = (options.now ?? Date.now)();
    this.keys = (options.keys ?? []).map((k) => {
      if (!KEY_ARN.test(k.arn)) throw new Error(`KmsStandIn: ${k.arn} is not a key ARN`);
      return { ...k };
    });
  }

  /** Adds a key (tests). */
  addKey(key: KmsKeySeed): void {
    if (!KEY_ARN.test(key.arn)) throw new Error(`KmsStandIn: ${key.arn} is not a key ARN`);
    this.keys.push({ ...key });
  }

  faultError(kind: Exclude<FaultKind, 'fail'>, _operation: string, message?: string): AwsError {
    if (kind === 'throttle') return new AwsError('ThrottlingException', message ?? 'Rate exceeded', 400);
    if (kind === 'conflict') return new AwsError('KMSInvalidStateException', message ?? 'The key is in a state that does not allow this operation.', 400);
    return new AwsError('KMSInternalException', message ?? 'An internal error occurred.', 500);
  }

  async handle(operation: string, input: unknown): Promise<unknown> {
    if (operation !== 'DescribeKey') throw new AwsError('UnknownOperationException', `The sandbox KMS does not implement ${operation}.`, 400);
    const body = input !== null && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
    const keyId = body.KeyId;
    if (keyId === undefined || keyId === null) throw new AwsError('ValidationException', '1 validation error detected: Value null at \'keyId\' failed to satisfy constraint: Member must not be null', 400);
    if (typeof keyId !== 'string' || keyId.length < 1 || keyId.length > 2048) {
      throw new AwsError('ValidationException', '1 validation error detected: Value at \'keyId\' failed to satisfy constraint: Member must have length between 1 and 2048', 400);
    }
    const key = this.find(keyId);
    return { KeyMetadata: this.metadata(key) };
  }

  private find(keyId: string): KmsKeySeed {
    const notFound = () => new AwsError('NotFoundException', `Key '${keyId}' does not exist`, 400);
    if (keyId.startsWith('arn:')) {
      const keyArn = KEY_ARN.exec(keyId);
      const aliasArn = ALIAS_ARN.exec(keyId);
      if (!keyArn && !aliasArn) throw new AwsError('InvalidArnException', `Invalid arn ${keyId}`, 400);
      const region = (keyArn ?? aliasArn)![2];
      if (region !== this.region) throw notFound();
      const key = keyArn ? this.keys.find((k) => k.arn === keyId) : this.keys.find((k) => k.arn.split(':')[4] === aliasArn![3] && (k.aliases ?? []).includes(aliasArn![4]!));
      if (!key) throw notFound();
      return key;
    }
    // Key ids and alias names resolve in the caller's own account and this Region only.
    const own = this.keys.filter((k) => k.arn.split(':')[3] === this.region && k.arn.split(':')[4] === this.callerAccountId);
    const key = keyId.startsWith('alias/') ? own.find((k) => (k.aliases ?? []).includes(keyId)) : own.find((k) => k.arn.endsWith(`:key/${keyId}`));
    if (!key) throw notFound();
    return key;
  }

  private metadata(k: KmsKeySeed) {
    const [, , , , account, resource] = k.arn.split(':');
    const keySpec = k.keySpec ?? 'SYMMETRIC_DEFAULT';
    const state = k.keyState ?? (k.enabled === false ? 'Disabled' : 'Enabled');
    return compact({
      AWSAccountId: account,
      KeyId: resource!.slice('key/'.length),
      Arn: k.arn,
      CreationDate: epochSeconds(this.createdAt),
      Enabled: state === 'Enabled',
      Description: k.description ?? '',
      KeyUsage: k.keyUsage ?? 'ENCRYPT_DECRYPT',
      KeyState: state,
      Origin: 'AWS_KMS',
      KeyManager: k.keyManager ?? 'CUSTOMER',
      CustomerMasterKeySpec: keySpec,
      KeySpec: keySpec,
      EncryptionAlgorithms: keySpec === 'SYMMETRIC_DEFAULT' ? ['SYMMETRIC_DEFAULT'] : undefined,
      MultiRegion: resource!.startsWith('key/mrk-'),
    });
  }
}

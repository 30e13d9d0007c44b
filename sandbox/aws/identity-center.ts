/**
 * IAM Identity Center (sso-admin, `SWBExternalService`) stand-in.
 *
 * What it models, because the product's grant and revoke code must cope with it:
 * - Account assignment writes are asynchronous: Create/DeleteAccountAssignment answer IN_PROGRESS
 *   with a request id; the change lands after a delay (default 1-3 s with jitter), and
 *   Describe*Status then reports SUCCEEDED or FAILED.
 * - A collective throttle of about 20 TPS across the API (token bucket) -> ThrottlingException.
 * - At most 10 outstanding (IN_PROGRESS) assignment writes; the 11th -> ThrottlingException
 *   ("There are too many requests processing"), or ConflictException if configured so.
 * - A second write on an assignment that already has one in progress -> ConflictException.
 * - Creating an assignment that exists, or deleting one that does not, succeeds (idempotent).
 * - Assignments that existed before the product (pre-seeded) are listed like any other; the
 *   inspection view marks them so tests can check the product never deletes them.
 * - Inline policies of permission sets (Get/Put/DeleteInlinePolicy…): a document of 1-32,768
 *   characters in the model's character set that is JSON (ValidationException otherwise), and
 *   ProvisionPermissionSet, asynchronous like the assignment writes (IN_PROGRESS, then SUCCEEDED or
 *   FAILED from DescribePermissionSetProvisioningStatus). The role in an account carries the inline
 *   policy only once provisioned there; `wouldDenySession` evaluates what is provisioned.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { type SandboxClock, type Timer, systemClock } from './clock';
import { type FaultKind, FaultQueue } from './faults';
import { JsonDocument } from './persistence';
import { AwsError, compact, epochSeconds, paginate, parseInput } from './protocol';
import { TokenBucket } from './rate-limit';
import type { JsonRpcService } from './service';

/** The sso-admin model's patterns (any `aws-…` partition). */
export const INSTANCE_ARN_PATTERN = /^arn:aws(-[a-z]{1,5}){0,3}:sso:::instance\/(sso)?ins-[a-zA-Z0-9-.]{16}$/;
export const PERMISSION_SET_ARN_PATTERN = /^arn:aws(-[a-z]{1,5}){0,3}:sso:::permissionSet\/(sso)?ins-[a-zA-Z0-9-.]{16}\/ps-[a-zA-Z0-9-./]{16}$/;
const PRINCIPAL_ID_PATTERN = /^([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$/;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_DURATION_PATTERN = /^P(?=\d|T\d)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)([DW]))?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

export interface PermissionSetSeed {
  name: string;
  arn: string;
  description?: string;
  /** ISO 8601 duration, e.g. `PT1H` (Identity Center allows PT1H to PT12H). */
  sessionDuration: string;
  relayState?: string;
}

export type PrincipalType = 'USER' | 'GROUP';

export interface AssignmentSeed {
  accountId: string;
  permissionSetArn: string;
  principalId: string;
  principalType?: PrincipalType;
}

export type AssignmentOrigin = 'preexisting' | 'created';

export interface AssignmentView {
  accountId: string;
  permissionSetArn: string;
  principalType: PrincipalType;
  principalId: string;
  /** `preexisting`: seeded as if it existed before the product; `created`: made through the API. */
  origin: AssignmentOrigin;
  createdAt: string;
}

export type OperationKind = 'create' | 'delete';
export type OperationStatus = 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED';

export interface OperationView {
  requestId: string;
  kind: OperationKind;
  status: OperationStatus;
  failureReason?: string;
  accountId: string;
  permissionSetArn: string;
  principalType: PrincipalType;
  principalId: string;
  createdAt: string;
  /** When the operation completed, or is due to. */
  completesAt: string;
}

export interface IdentityCenterStats {
  calls: Record<string, number>;
  /** Calls refused by the TPS bucket. */
  throttled: number;
  /** Writes refused because 10 were already outstanding. */
  outstandingRejected: number;
  /** Writes refused because the same assignment had a write in progress. */
  conflicts: number;
  /** Injected faults served. */
  injected: number;
  /** Highest number of simultaneously outstanding writes seen. */
  maxOutstanding: number;
  outstanding: number;
  succeeded: { create: number; delete: number };
  failed: { create: number; delete: number };
}

/** What the instance's customer managed KMS key answers when the service uses it for the caller (kms:Decrypt). */
export type KmsAccess = 'allowed' | 'denied' | 'disabled';

/**
 * An Identity Center instance encrypted with a customer managed key: the calls that need the key
 * fail when the key policy or the caller's IAM policy denies kms:Decrypt, or the key is disabled.
 * The KMS stand-in (or a test) decides the answer per operation.
 */
export interface CustomerManagedKey {
  keyArn: string;
  access(operation: string): KmsAccess;
}

export interface IdentityCenterOptions {
  clock?: SandboxClock;
  /** Source of jitter in [0, 1). */
  random?: () => number;
  instanceArn?: string;
  identityStoreId?: string;
  /** Account owning the instance (ListInstances): the organization's management account. */
  ownerAccountId?: string;
  /**
   * The account the product calls from. When it is not `ownerAccountId`, the caller is a delegated
   * administrator, which cannot manage access in the management account ("Delegated
   * administration", IAM Identity Center user guide): writes targeting it get AccessDeniedException.
   */
  callerAccountId?: string;
  /** Set when the instance is encrypted with a customer managed KMS key. */
  customerManagedKey?: CustomerManagedKey;
  permissionSets?: readonly PermissionSetSeed[];
  /** Accounts assignments may target; any 12-digit account when omitted. Others end FAILED. */
  accountIds?: readonly string[];
  /** Whether a principal exists in the identity store (unknown principals end FAILED). Any when omitted. */
  principalExists?: (principalType: PrincipalType, principalId: string) => boolean;
  /** Delay before an assignment write completes, uniformly in [min, max] ms. Default 1000-3000. */
  assignmentDelayMs?: { min: number; max: number };
  /** Collective API throttle; `false` disables it. Default 20 TPS with a bucket of 20. */
  rateLimit?: { tps: number; burst: number } | false;
  /** Outstanding (IN_PROGRESS) assignment writes allowed. Default 10. */
  maxOutstandingWrites?: number;
  /** What the write past the outstanding limit gets. Default ThrottlingException. */
  outstandingLimitError?: 'ThrottlingException' | 'ConflictException';
  /** Assignments that exist before the product touches anything (kept on restart). */
  preexistingAssignments?: readonly AssignmentSeed[];
  /** Default page size of the List* operations (AWS allows 1-100). */
  defaultPageSize?: number;
  /** JSON file that keeps assignments and operations across restarts; memory only when omitted. */
  dataFile?: string;
}

export const DEFAULT_INSTANCE_ARN = 'arn:aws:sso:::instance/ssoins-1111111111111111';
export const DEFAULT_IDENTITY_STORE_ID = 'd-1111111111';

interface AssignmentRecord {
  accountId: string;
  permissionSetArn: string;
  principalType: PrincipalType;
  principalId: string;
  origin: AssignmentOrigin;
  createdAt: number;
}

interface OperationRecord {
  requestId: string;
  kind: OperationKind;
  status: OperationStatus;
  failureReason?: string;
  accountId: string;
  permissionSetArn: string;
  principalType: PrincipalType;
  principalId: string;
  createdAt: number;
  completesAt: number;
  /** Set by an injected `fail` fault: the operation will end FAILED with this reason. */
  injectedFailure?: string;
}

const principalTypeSchema = z.enum(['USER', 'GROUP']);
const persistedSchema = z.object({
  version: z.literal(1),
  /** Permission set ARN -> inline policy document (absent: none). */
  inlinePolicies: z.record(z.string(), z.string()).optional(),
  /** `<account>|<permission set ARN>` -> the inline policy as last provisioned there ('' = none). */
  provisionedPolicies: z.record(z.string(), z.string()).optional(),
  assignments: z.array(
    z.object({
      accountId: z.string(),
      permissionSetArn: z.string(),
      principalType: principalTypeSchema,
      principalId: z.string(),
      origin: z.enum(['preexisting', 'created']),
      createdAt: z.number(),
    }),
  ),
  operations: z.array(
    z.object({
      requestId: z.string(),
      kind: z.enum(['create', 'delete']),
      status: z.enum(['IN_PROGRESS', 'SUCCEEDED', 'FAILED']),
      failureReason: z.string().optional(),
      accountId: z.string(),
      permissionSetArn: z.string(),
      principalType: principalTypeSchema,
      principalId: z.string(),
      createdAt: z.number(),
      completesAt: z.number(),
      injectedFailure: z.string().optional(),
    }),
  ),
});

/** Completed operations kept for Describe*Status (AWS keeps them for a while, then forgets). */
const MAX_COMPLETED_OPERATIONS = 10_000;

const instanceArn = z.string().min(10).max(1224).regex(INSTANCE_ARN_PATTERN, 'Member must satisfy regular expression pattern: arn:aws:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}');
const permissionSetArn = z.string().min(10).max(1224).regex(PERMISSION_SET_ARN_PATTERN, 'Member must satisfy regular expression pattern: arn:aws:sso:::permissionSet/(sso)?ins-[a-zA-Z0-9-.]{16}/ps-[a-zA-Z0-9-./]{16}');
const maxResults = z.number().int().min(1).max(100).optional();
const nextToken = z.string().max(2048).optional();
const assignmentWriteInput = z.object({
  InstanceArn: instanceArn,
  TargetId: z.string().regex(/^\d{12}$/, 'Member must satisfy regular expression pattern: \\d{12}'),
  TargetType: z.literal('AWS_ACCOUNT'),
  PermissionSetArn: permissionSetArn,
  PrincipalType: principalTypeSchema,
  PrincipalId: z.string().min(1).max(47).regex(PRINCIPAL_ID_PATTERN, 'Member must satisfy regular expression pattern: ([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}'),
});
const requestId = z.string().length(36).regex(UUID_PATTERN, 'Member must satisfy regular expression pattern: \\b[0-9a-f]{8}\\b-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-\\b[0-9a-f]{12}\\b');
const creationStatusInput = z.object({ InstanceArn: instanceArn, AccountAssignmentCreationRequestId: requestId });
const deletionStatusInput = z.object({ InstanceArn: instanceArn, AccountAssignmentDeletionRequestId: requestId });
const listAssignmentsInput = z.object({ InstanceArn: instanceArn, AccountId: z.string().regex(/^\d{12}$/), PermissionSetArn: permissionSetArn, MaxResults: maxResults, NextToken: nextToken });
const listPermissionSetsInput = z.object({ InstanceArn: instanceArn, MaxResults: maxResults, NextToken: nextToken });
const describePermissionSetInput = z.object({ InstanceArn: instanceArn, PermissionSetArn: permissionSetArn });
const listInstancesInput = z.object({ MaxResults: maxResults, NextToken: nextToken });
/** sso-admin model, PermissionSetPolicyDocument: 1-32,768 characters of [\u0009\u000A\u000D\u0020-\u00FF]. */
export const INLINE_POLICY_MAX_CHARS = 32_768;
const inlinePolicyDocument = z
  .string()
  .min(1)
  .max(INLINE_POLICY_MAX_CHARS, `Member must have length less than or equal to ${INLINE_POLICY_MAX_CHARS}`)
  // eslint-disable-next-line no-control-regex -- the model's own pattern names tab, LF and CR
  .regex(/^[\u0009\u000A\u000D\u0020-\u00FF]+$/, 'Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+');
const inlinePolicyInput = z.object({ InstanceArn: instanceArn, PermissionSetArn: permissionSetArn });
const putInlinePolicyInput = inlinePolicyInput.extend({ InlinePolicy: inlinePolicyDocument });
const provisionInput = z.object({
  InstanceArn: instanceArn,
  PermissionSetArn: permissionSetArn,
  TargetId: z.string().regex(/^\d{12}$/, 'Member must satisfy regular expression pattern: \\d{12}').optional(),
  TargetType: z.enum(['AWS_ACCOUNT', 'ALL_PROVISIONED_ACCOUNTS']),
});
const provisioningStatusInput = z.object({ InstanceArn: instanceArn, ProvisionPermissionSetRequestId: requestId });
/**
 * Identity Center writes the inline policy as an inline policy of the IAM role in each account; IAM
 * allows 10,240 characters (whitespace not counted) of inline policy per role ("IAM and AWS STS
 * quotas", IAM user guide), so a provisioning past it ends FAILED.
 */
export const ROLE_INLINE_POLICY_MAX_CHARS = 10_240;

interface ProvisioningRecord {
  requestId: string;
  permissionSetArn: string;
  accountIds: string[];
  /** The inline policy when the provisioning started (what lands in the accounts). */
  document: string | undefined;
  status: OperationStatus;
  failureReason?: string;
  createdAt: number;
  completesAt: number;
  injectedFailure?: string;
}

/** A session's request context for `wouldDenySession`. */
export interface SessionProbe {
  accountId: string;
  permissionSetArn: string;
  userId: string;
  /** When the session's credentials were issued (aws:TokenIssueTime), epoch ms. */
  issuedAt: number;
}

const keyOf = (a: { accountId: string; permissionSetArn: string; principalType: PrincipalType; principalId: string }) => `${a.accountId}|${a.permissionSetArn}|${a.principalType}|${a.principalId}`;

type Listener = (operation: OperationView) => void;

export class IdentityCenterStandIn implements JsonRpcService {
  readonly targetPrefix = 'SWBExternalService';
  readonly jsonVersion = '1.1';
  readonly faults = new FaultQueue();
  readonly instanceArn: string;
  readonly identityStoreId: string;

  private readonly clock: SandboxClock;
  private readonly random: () => number;
  private readonly bucket: TokenBucket | undefined;
  private readonly rate: { tps: number; burst: number } | false;
  private readonly maxOutstanding: number;
  private readonly delay: { min: number; max: number };
  private readonly permissionSets: Map<string, PermissionSetSeed & { createdAt: number }>;
  private readonly assignments = new Map<string, AssignmentRecord>();
  private readonly operations = new Map<string, OperationRecord>();
  /** IN_PROGRESS operation per assignment key. */
  private readonly inFlight = new Map<string, OperationRecord>();
  private readonly timers = new Map<string, Timer>();
  private readonly inlinePolicies = new Map<string, string>();
  private readonly provisionedPolicies = new Map<string, string>();
  private readonly provisionings = new Map<string, ProvisioningRecord>();
  /** IN_PROGRESS provisioning per permission set. */
  private readonly provisioningInFlight = new Map<string, ProvisioningRecord>();
  private readonly listeners = new Set<Listener>();
  private readonly doc: JsonDocument<z.infer<typeof persistedSchema>>;
  private readonly createdAt: number;
  private counters: Omit<IdentityCenterStats, 'outstanding'> = {
    calls: {},
    throttled: 0,
    outstandingRejected: 0,
    conflicts: 0,
    injected: 0,
    maxOutstanding: 0,
    succeeded: { create: 0, delete: 0 },
    failed: { create: 0, delete: 0 },
  };

  constructor(private readonly options: IdentityCenterOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.instanceArn = options.instanceArn ?? DEFAULT_INSTANCE_ARN;
    this.identityStoreId = options.identityStoreId ?? DEFAULT_IDENTITY_STORE_ID;
    if (!INSTANCE_ARN_PATTERN.test(this.instanceArn)) throw new Error(`Invalid Identity Center instance ARN: ${this.instanceArn}`);
    this.delay = options.assignmentDelayMs ?? { min: 1000, max: 3000 };
    if (!(this.delay.min >= 0 && this.delay.max >= this.delay.min)) throw new Error(`Invalid assignment delay ${JSON.stringify(this.delay)}`);
    const rate = options.rateLimit ?? { tps: 20, burst: 20 };
    this.rate = rate;
    this.bucket = rate === false ? undefined : new TokenBucket(rate.tps, rate.burst, this.clock);
    this.maxOutstanding = options.maxOutstandingWrites ?? 10;
    this.createdAt = this.clock.now();
    this.permissionSets = new Map();
    for (const ps of options.permissionSets ?? []) {
      if (!PERMISSION_SET_ARN_PATTERN.test(ps.arn)) throw new Error(`Invalid permission set ARN for ${ps.name}: ${ps.arn}`);
      if (!ps.arn.includes(this.instanceArn.split('/')[1]!)) throw new Error(`Permission set ${ps.name} (${ps.arn}) does not belong to instance ${this.instanceArn}`);
      if (!ISO_DURATION_PATTERN.test(ps.sessionDuration)) throw new Error(`Invalid SessionDuration for ${ps.name}: ${ps.sessionDuration}`);
      this.permissionSets.set(ps.arn, { ...ps, createdAt: this.createdAt });
    }

    const { doc, loaded } = JsonDocument.open(options.dataFile, persistedSchema, () => this.snapshot());
    this.doc = doc;
    if (loaded) {
      for (const a of loaded.assignments) this.assignments.set(keyOf(a), { ...a });
      for (const op of loaded.operations) this.operations.set(op.requestId, { ...op });
      for (const [arn, doc] of Object.entries(loaded.inlinePolicies ?? {})) this.inlinePolicies.set(arn, doc);
      for (const [key, doc] of Object.entries(loaded.provisionedPolicies ?? {})) this.provisionedPolicies.set(key, doc);
    }
    // Seeds describe the world before the product's first start; after that the data file is the truth
    // (re-seeding would resurrect a pre-existing assignment the product wrongly deleted).
    if (!loaded) for (const seed of options.preexistingAssignments ?? []) this.seedAssignment(seed);
    // Operations that were in progress when the process stopped complete now, or when due.
    for (const op of this.operations.values()) {
      if (op.status !== 'IN_PROGRESS') continue;
      this.inFlight.set(keyOf(op), op);
      this.arm(op);
    }
    this.counters.maxOutstanding = this.inFlight.size;
  }

  // ── JSON RPC ─────────────────────────────────────────────────────────────────────

  faultError(kind: Exclude<FaultKind, 'fail'>, operation: string, message?: string): AwsError {
    this.counters.injected++;
    if (kind === 'throttle') return new AwsError('ThrottlingException', message ?? 'Rate exceeded', 400);
    if (kind === 'conflict') return new AwsError('ConflictException', message ?? `${operation} conflicts with an operation in progress. Retry with backoff.`, 400);
    return new AwsError('InternalServerException', message ?? 'The request processing has failed because of an unknown error, exception or failure.', 500);
  }

  async handle(operation: string, input: unknown): Promise<unknown> {
    const handler = this.operationsTable[operation];
    if (!handler) throw new AwsError('UnknownOperationException', `The sandbox Identity Center does not implement ${operation}.`, 400);
    this.counters.calls[operation] = (this.counters.calls[operation] ?? 0) + 1;
    if (this.bucket && !this.bucket.tryTake()) {
      this.counters.throttled++;
      throw new AwsError('ThrottlingException', 'Rate exceeded', 400);
    }
    return handler(input);
  }

  private readonly operationsTable: Record<string, (input: unknown) => unknown> = {
    CreateAccountAssignment: (input) => ({ AccountAssignmentCreationStatus: this.startWrite('create', 'CreateAccountAssignment', input) }),
    DeleteAccountAssignment: (input) => ({ AccountAssignmentDeletionStatus: this.startWrite('delete', 'DeleteAccountAssignment', input) }),
    DescribeAccountAssignmentCreationStatus: (input) => {
      const req = parseInput(creationStatusInput, input);
      this.checkInstance(req.InstanceArn);
      return { AccountAssignmentCreationStatus: this.statusOf(this.findOperation(req.AccountAssignmentCreationRequestId, 'create')) };
    },
    DescribeAccountAssignmentDeletionStatus: (input) => {
      const req = parseInput(deletionStatusInput, input);
      this.checkInstance(req.InstanceArn);
      return { AccountAssignmentDeletionStatus: this.statusOf(this.findOperation(req.AccountAssignmentDeletionRequestId, 'delete')) };
    },
    ListAccountAssignments: (input) => {
      const req = parseInput(listAssignmentsInput, input);
      this.checkInstance(req.InstanceArn);
      this.permissionSet(req.PermissionSetArn);
      const matching = [...this.assignments.values()]
        .filter((a) => a.accountId === req.AccountId && a.permissionSetArn === req.PermissionSetArn)
        .sort((a, b) => (a.principalType + a.principalId).localeCompare(b.principalType + b.principalId))
        .map((a) => ({ AccountId: a.accountId, PermissionSetArn: a.permissionSetArn, PrincipalType: a.principalType, PrincipalId: a.principalId }));
      const { page, nextToken } = paginate(matching, req.NextToken, req.MaxResults ?? this.pageSize());
      return compact({ AccountAssignments: page, NextToken: nextToken });
    },
    ListPermissionSets: (input) => {
      const req = parseInput(listPermissionSetsInput, input);
      this.checkInstance(req.InstanceArn);
      const { page, nextToken } = paginate([...this.permissionSets.keys()], req.NextToken, req.MaxResults ?? this.pageSize());
      return compact({ PermissionSets: page, NextToken: nextToken });
    },
    DescribePermissionSet: (input) => {
      const req = parseInput(describePermissionSetInput, input);
      this.checkInstance(req.InstanceArn);
      const ps = this.permissionSet(req.PermissionSetArn);
      return {
        PermissionSet: compact({
          Name: ps.name,
          PermissionSetArn: ps.arn,
          Description: ps.description,
          CreatedDate: epochSeconds(ps.createdAt),
          SessionDuration: ps.sessionDuration,
          RelayState: ps.relayState,
        }),
      };
    },
    GetInlinePolicyForPermissionSet: (input) => {
      const req = parseInput(inlinePolicyInput, input);
      this.checkInstance(req.InstanceArn);
      this.permissionSet(req.PermissionSetArn);
      // The model: "it is possible for an empty inline policy to be returned".
      return { InlinePolicy: this.inlinePolicies.get(req.PermissionSetArn) ?? '' };
    },
    PutInlinePolicyToPermissionSet: (input) => {
      const req = parseInput(putInlinePolicyInput, input);
      this.checkInstance(req.InstanceArn);
      this.permissionSet(req.PermissionSetArn);
      this.checkNoProvisioning(req.PermissionSetArn, 'PutInlinePolicyToPermissionSet');
      checkPolicyGrammar(req.InlinePolicy);
      this.inlinePolicies.set(req.PermissionSetArn, req.InlinePolicy);
      this.doc.save();
      return {};
    },
    DeleteInlinePolicyFromPermissionSet: (input) => {
      const req = parseInput(inlinePolicyInput, input);
      this.checkInstance(req.InstanceArn);
      this.permissionSet(req.PermissionSetArn);
      this.checkNoProvisioning(req.PermissionSetArn, 'DeleteInlinePolicyFromPermissionSet');
      this.inlinePolicies.delete(req.PermissionSetArn);
      this.doc.save();
      return {};
    },
    ProvisionPermissionSet: (input) => ({ PermissionSetProvisioningStatus: this.startProvisioning(input) }),
    DescribePermissionSetProvisioningStatus: (input) => {
      const req = parseInput(provisioningStatusInput, input);
      this.checkInstance(req.InstanceArn);
      const p = this.provisionings.get(req.ProvisionPermissionSetRequestId);
      if (!p) throw new AwsError('ResourceNotFoundException', `Provisioning request ${req.ProvisionPermissionSetRequestId} does not exist.`, 400);
      return { PermissionSetProvisioningStatus: this.provisioningStatus(p) };
    },
    ListInstances: (input) => {
      const req = parseInput(listInstancesInput, input);
      const instance = compact({
        InstanceArn: this.instanceArn,
        IdentityStoreId: this.identityStoreId,
        OwnerAccountId: this.options.ownerAccountId,
        Name: 'sandbox',
        Status: 'ACTIVE',
        CreatedDate: epochSeconds(this.createdAt),
      });
      const { page, nextToken } = paginate([instance], req.NextToken, req.MaxResults ?? this.pageSize());
      return compact({ Instances: page, NextToken: nextToken });
    },
  };

  // ── inspection and fault injection (tests, benchmarks, the e2e suite) ───────────────

  /** Adds an assignment as if it existed before the product: live at once, origin `preexisting`. */
  seedAssignment(seed: AssignmentSeed): AssignmentView {
    const record: AssignmentRecord = {
      accountId: seed.accountId,
      permissionSetArn: seed.permissionSetArn,
      principalType: seed.principalType ?? 'USER',
      principalId: seed.principalId,
      origin: 'preexisting',
      createdAt: this.clock.now(),
    };
    const parsed = assignmentWriteInput.safeParse({
      InstanceArn: this.instanceArn,
      TargetId: record.accountId,
      TargetType: 'AWS_ACCOUNT',
      PermissionSetArn: record.permissionSetArn,
      PrincipalType: record.principalType,
      PrincipalId: record.principalId,
    });
    if (!parsed.success) throw new Error(`Invalid assignment seed ${JSON.stringify(seed)}: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
    this.permissionSet(record.permissionSetArn);
    const existing = this.assignments.get(keyOf(record));
    if (existing) return this.view(existing);
    this.assignments.set(keyOf(record), record);
    this.doc.save();
    return this.view(record);
  }

  listAssignments(filter: Partial<Pick<AssignmentView, 'accountId' | 'permissionSetArn' | 'principalId' | 'origin'>> = {}): AssignmentView[] {
    return [...this.assignments.values()]
      .filter((a) => (Object.keys(filter) as Array<keyof typeof filter>).every((k) => filter[k] === undefined || a[k] === filter[k]))
      .map((a) => this.view(a));
  }

  hasAssignment(key: { accountId: string; permissionSetArn: string; principalId: string; principalType?: PrincipalType }): boolean {
    return this.assignments.has(keyOf({ principalType: 'USER', ...key }));
  }

  listPermissionSets(): PermissionSetSeed[] {
    return [...this.permissionSets.values()].map(({ createdAt: _createdAt, ...ps }) => ps);
  }

  listOperations(filter: { status?: OperationStatus; kind?: OperationKind } = {}): OperationView[] {
    return [...this.operations.values()].filter((o) => (!filter.status || o.status === filter.status) && (!filter.kind || o.kind === filter.kind)).map((o) => this.opView(o));
  }

  /** The inline policy of a permission set as stored by Put (not necessarily provisioned yet). */
  inlinePolicy(permissionSetArn: string): string | undefined {
    return this.inlinePolicies.get(permissionSetArn);
  }

  /** The inline policy the permission set's role in `accountId` carries (what was last provisioned there). */
  provisionedPolicy(accountId: string, permissionSetArn: string): string | undefined {
    return this.provisionedPolicies.get(`${accountId}|${permissionSetArn}`) || undefined;
  }

  /** Stands for an operator editing the inline policy in the console (no provisioning). */
  setInlinePolicy(permissionSetArn: string, document: string | undefined): void {
    this.permissionSet(permissionSetArn);
    if (document === undefined) this.inlinePolicies.delete(permissionSetArn);
    else {
      checkPolicyGrammar(document);
      this.inlinePolicies.set(permissionSetArn, document);
    }
    this.doc.save();
  }

  /**
   * Whether a role session of `userId` in `accountId`, issued at `issuedAt`, would be denied by the
   * inline policy provisioned there: the request context carries identitystore:userId,
   * aws:PrincipalAccount and aws:TokenIssueTime ("AWS global condition context keys", IAM user
   * guide; identitystore:userId in "Revoke active IAM role sessions created by permission sets").
   * An explicit Deny on `*` wins over any Allow (IAM policy evaluation logic).
   */
  wouldDenySession(probe: SessionProbe): boolean {
    const doc = this.provisionedPolicy(probe.accountId, probe.permissionSetArn);
    if (!doc) return false;
    const context: Record<string, string> = {
      'identitystore:userid': probe.userId,
      'aws:principalaccount': probe.accountId,
      'aws:tokenissuetime': new Date(probe.issuedAt).toISOString(),
    };
    return statementsOf(JSON.parse(doc) as Record<string, unknown>).some(
      (st) => st.Effect === 'Deny' && coversEverything(st.Action) && coversEverything(st.Resource) && conditionsHold(st.Condition, context),
    );
  }

  /** The limits in force (benchmarks compute the theoretical minimum time from these). */
  quotas(): { rateLimit: { tps: number; burst: number } | false; maxOutstandingWrites: number; assignmentDelayMs: { min: number; max: number } } {
    return { rateLimit: this.rate === false ? false : { ...this.rate }, maxOutstandingWrites: this.maxOutstanding, assignmentDelayMs: { ...this.delay } };
  }

  stats(): IdentityCenterStats {
    return structuredClone({ ...this.counters, outstanding: this.inFlight.size });
  }

  resetStats(): void {
    this.counters = { calls: {}, throttled: 0, outstandingRejected: 0, conflicts: 0, injected: 0, maxOutstanding: this.inFlight.size, succeeded: { create: 0, delete: 0 }, failed: { create: 0, delete: 0 } };
  }

  /** Called whenever an assignment write completes (SUCCEEDED or FAILED). Returns an unsubscribe function. */
  onOperationCompleted(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Cancels pending completion timers and writes the state out. In-progress operations resume on the next start. */
  async stop(): Promise<void> {
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
    this.doc.save();
    await this.doc.flush();
  }

  // ── internals ─────────────────────────────────────────────────────────────────────

  private pageSize(): number {
    return this.options.defaultPageSize ?? 20;
  }

  /**
   * With a customer managed key, assignment writes need kms:Decrypt on it (IAM Identity Center
   * user guide, "Customer managed KMS keys"); the errors carry the modeled KMS reasons
   * (sso-admin model: AccessDeniedExceptionReason, ValidationExceptionReason).
   */
  private checkKey(operation: string): void {
    const key = this.options.customerManagedKey;
    if (!key) return;
    const access = key.access(operation);
    if (access === 'denied') throw new AwsError('AccessDeniedException', `${operation} needs kms:Decrypt on ${key.keyArn}, which was denied.`, 400, { Reason: 'KMS_AccessDeniedException' });
    if (access === 'disabled') throw new AwsError('ValidationException', `The customer managed key ${key.keyArn} is disabled.`, 400, { Reason: 'KMS_DisabledException' });
  }

  private checkInstance(arn: string): void {
    if (arn !== this.instanceArn) throw new AwsError('ResourceNotFoundException', `Instance ${arn} does not exist.`, 400);
  }

  private permissionSet(arn: string): PermissionSetSeed & { createdAt: number } {
    const ps = this.permissionSets.get(arn);
    if (!ps) throw new AwsError('ResourceNotFoundException', `PermissionSet ${arn} does not exist.`, 400);
    return ps;
  }

  private findOperation(requestId: string, kind: OperationKind): OperationRecord {
    const op = this.operations.get(requestId);
    if (!op || op.kind !== kind) throw new AwsError('ResourceNotFoundException', `${kind === 'create' ? 'Creation' : 'Deletion'} request ${requestId} does not exist.`, 400);
    return op;
  }

  private startWrite(kind: OperationKind, operation: string, input: unknown) {
    const req = parseInput(assignmentWriteInput, input);
    this.checkInstance(req.InstanceArn);
    this.permissionSet(req.PermissionSetArn);
    const owner = this.options.ownerAccountId;
    const caller = this.options.callerAccountId;
    if (owner && caller && caller !== owner && req.TargetId === owner) {
      throw new AwsError('AccessDeniedException', `A delegated administrator (${caller}) cannot manage access to the management account ${owner}.`, 400);
    }
    this.checkKey(operation);
    const target = { accountId: req.TargetId, permissionSetArn: req.PermissionSetArn, principalType: req.PrincipalType, principalId: req.PrincipalId };
    const key = keyOf(target);
    if (this.inFlight.has(key)) {
      this.counters.conflicts++;
      throw new AwsError('ConflictException', 'There is a conflicting operation in progress for this account assignment. Retry with backoff.', 400);
    }
    if (this.inFlight.size >= this.maxOutstanding) {
      this.counters.outstandingRejected++;
      const code = this.options.outstandingLimitError ?? 'ThrottlingException';
      throw new AwsError(code, 'There are too many requests processing. Please try again later.', 400);
    }
    const injected = this.faults.take(operation, ['fail']);
    if (injected) this.counters.injected++;
    const now = this.clock.now();
    const delay = this.delay.min + this.random() * (this.delay.max - this.delay.min);
    const op: OperationRecord = {
      requestId: randomUUID(),
      kind,
      status: 'IN_PROGRESS',
      ...target,
      createdAt: now,
      completesAt: now + delay,
      ...(injected ? { injectedFailure: injected.message ?? `The ${kind === 'create' ? 'creation' : 'deletion'} of the account assignment failed (injected fault).` } : {}),
    };
    this.operations.set(op.requestId, op);
    this.inFlight.set(key, op);
    this.counters.maxOutstanding = Math.max(this.counters.maxOutstanding, this.inFlight.size);
    this.trimOperations();
    this.arm(op);
    this.doc.save();
    return this.statusOf(op);
  }

  /** One provisioning per permission set at a time; a write of the set meanwhile is a ConflictException. */
  private checkNoProvisioning(permissionSetArn: string, operation: string): void {
    if (this.provisioningInFlight.has(permissionSetArn)) {
      this.counters.conflicts++;
      throw new AwsError('ConflictException', `${operation}: a provisioning of ${permissionSetArn} is in progress. Retry with backoff.`, 400);
    }
  }

  private startProvisioning(input: unknown) {
    const req = parseInput(provisionInput, input);
    this.checkInstance(req.InstanceArn);
    this.permissionSet(req.PermissionSetArn);
    if (req.TargetType === 'AWS_ACCOUNT' && !req.TargetId) throw new AwsError('ValidationException', 'TargetId is required when TargetType is AWS_ACCOUNT.', 400);
    const owner = this.options.ownerAccountId;
    const caller = this.options.callerAccountId;
    if (owner && caller && caller !== owner && req.TargetId === owner) {
      throw new AwsError('AccessDeniedException', `A delegated administrator (${caller}) cannot manage permission sets provisioned to the management account ${owner}.`, 400);
    }
    this.checkKey('ProvisionPermissionSet');
    this.checkNoProvisioning(req.PermissionSetArn, 'ProvisionPermissionSet');
    const accountIds =
      req.TargetType === 'AWS_ACCOUNT'
        ? [req.TargetId!]
        : [...new Set([...this.assignments.values()].filter((a) => a.permissionSetArn === req.PermissionSetArn).map((a) => a.accountId))].sort();
    const injected = this.faults.take('ProvisionPermissionSet', ['fail']);
    if (injected) this.counters.injected++;
    const now = this.clock.now();
    const p: ProvisioningRecord = {
      requestId: randomUUID(),
      permissionSetArn: req.PermissionSetArn,
      accountIds,
      document: this.inlinePolicies.get(req.PermissionSetArn),
      status: 'IN_PROGRESS',
      createdAt: now,
      completesAt: now + this.delay.min + this.random() * (this.delay.max - this.delay.min),
      ...(injected ? { injectedFailure: injected.message ?? 'The provisioning of the permission set failed (injected fault).' } : {}),
    };
    this.provisionings.set(p.requestId, p);
    this.provisioningInFlight.set(p.permissionSetArn, p);
    const timer = this.clock.setTimer(p.completesAt - now, () => {
      this.timers.delete(p.requestId);
      this.completeProvisioning(p);
    });
    this.timers.set(p.requestId, timer);
    return this.provisioningStatus(p);
  }

  private completeProvisioning(p: ProvisioningRecord): void {
    if (p.status !== 'IN_PROGRESS') return;
    const size = p.document ? p.document.replace(/\s/g, '').length : 0;
    const unknown = this.options.accountIds ? p.accountIds.find((a) => !this.options.accountIds!.includes(a)) : undefined;
    const failure =
      p.injectedFailure ??
      (size > ROLE_INLINE_POLICY_MAX_CHARS ? `Inline policy size ${size} exceeds the IAM quota of ${ROLE_INLINE_POLICY_MAX_CHARS} characters for a role.` : undefined) ??
      (unknown ? `Received a 404 status error: account ${unknown} is not a member of the organization.` : undefined);
    if (failure) {
      p.status = 'FAILED';
      p.failureReason = failure;
    } else {
      p.status = 'SUCCEEDED';
      for (const accountId of p.accountIds) this.provisionedPolicies.set(`${accountId}|${p.permissionSetArn}`, p.document ?? '');
    }
    p.completesAt = Math.min(p.completesAt, this.clock.now());
    if (this.provisioningInFlight.get(p.permissionSetArn) === p) this.provisioningInFlight.delete(p.permissionSetArn);
    this.doc.save();
  }

  private provisioningStatus(p: ProvisioningRecord) {
    return compact({
      Status: p.status,
      RequestId: p.requestId,
      AccountId: p.accountIds.length === 1 ? p.accountIds[0] : undefined,
      PermissionSetArn: p.permissionSetArn,
      FailureReason: p.failureReason,
      CreatedDate: epochSeconds(p.createdAt),
    });
  }

  private arm(op: OperationRecord): void {
    const timer = this.clock.setTimer(op.completesAt - this.clock.now(), () => {
      this.timers.delete(op.requestId);
      this.complete(op);
    });
    this.timers.set(op.requestId, timer);
  }

  private complete(op: OperationRecord): void {
    if (op.status !== 'IN_PROGRESS') return;
    const key = keyOf(op);
    const failure = op.injectedFailure ?? this.failureOf(op);
    if (failure) {
      op.status = 'FAILED';
      op.failureReason = failure;
      this.counters.failed[op.kind]++;
    } else {
      op.status = 'SUCCEEDED';
      if (op.kind === 'create') {
        if (!this.assignments.has(key)) this.assignments.set(key, { accountId: op.accountId, permissionSetArn: op.permissionSetArn, principalType: op.principalType, principalId: op.principalId, origin: 'created', createdAt: this.clock.now() });
      } else {
        this.assignments.delete(key);
      }
      this.counters.succeeded[op.kind]++;
    }
    op.completesAt = Math.min(op.completesAt, this.clock.now());
    if (this.inFlight.get(key) === op) this.inFlight.delete(key);
    this.doc.save();
    const view = this.opView(op);
    for (const listener of this.listeners) {
      try {
        listener(view);
      } catch (e) {
        console.error('[sandbox] Identity Center listener failed:', e);
      }
    }
  }

  private failureOf(op: OperationRecord): string | undefined {
    if (op.kind === 'delete') return undefined;
    if (this.options.accountIds && !this.options.accountIds.includes(op.accountId)) return `Received a 404 status error: account ${op.accountId} is not a member of the organization.`;
    if (this.options.principalExists && !this.options.principalExists(op.principalType, op.principalId)) return `Received a 404 status error: principal ${op.principalId} does not exist in identity store ${this.identityStoreId}.`;
    return undefined;
  }

  private trimOperations(): void {
    if (this.operations.size <= MAX_COMPLETED_OPERATIONS + this.maxOutstanding) return;
    for (const [id, op] of this.operations) {
      if (this.operations.size <= MAX_COMPLETED_OPERATIONS) break;
      if (op.status !== 'IN_PROGRESS') this.operations.delete(id);
    }
  }

  private statusOf(op: OperationRecord) {
    return compact({
      Status: op.status,
      RequestId: op.requestId,
      FailureReason: op.failureReason,
      TargetId: op.accountId,
      TargetType: 'AWS_ACCOUNT',
      PermissionSetArn: op.permissionSetArn,
      PrincipalType: op.principalType,
      PrincipalId: op.principalId,
      CreatedDate: epochSeconds(op.createdAt),
    });
  }

  private view(a: AssignmentRecord): AssignmentView {
    return { accountId: a.accountId, permissionSetArn: a.permissionSetArn, principalType: a.principalType, principalId: a.principalId, origin: a.origin, createdAt: new Date(a.createdAt).toISOString() };
  }

  private opView(o: OperationRecord): OperationView {
    return compact({
      requestId: o.requestId,
      kind: o.kind,
      status: o.status,
      failureReason: o.failureReason,
      accountId: o.accountId,
      permissionSetArn: o.permissionSetArn,
      principalType: o.principalType,
      principalId: o.principalId,
      createdAt: new Date(o.createdAt).toISOString(),
      completesAt: new Date(o.completesAt).toISOString(),
    });
  }

  private snapshot(): z.infer<typeof persistedSchema> {
    return {
      version: 1,
      assignments: [...this.assignments.values()],
      operations: [...this.operations.values()],
      inlinePolicies: Object.fromEntries(this.inlinePolicies),
      provisionedPolicies: Object.fromEntries(this.provisionedPolicies),
    };
  }
}


// ── IAM policy grammar and evaluation (the subset the product writes; anything else is refused) ──

type Statement = Record<string, unknown>;

function statementsOf(doc: Record<string, unknown>): Statement[] {
  const st = doc.Statement;
  return (Array.isArray(st) ? st : st && typeof st === 'object' ? [st] : []) as Statement[];
}

/**
 * What Put refuses as MalformedPolicyDocument-style ValidationException: not JSON, no Statement,
 * an Effect other than Allow/Deny, or a Sid that is not alphanumeric ("IAM JSON policy elements:
 * Sid": ASCII uppercase and lowercase letters and digits).
 */
function checkPolicyGrammar(text: string): void {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new AwsError('ValidationException', 'The inline policy is not valid JSON.', 400);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new AwsError('ValidationException', 'The inline policy must be a JSON object.', 400);
  const statements = statementsOf(doc as Record<string, unknown>);
  if (statements.length === 0) throw new AwsError('ValidationException', 'The inline policy has no Statement.', 400);
  for (const st of statements) {
    if (st.Effect !== 'Allow' && st.Effect !== 'Deny') throw new AwsError('ValidationException', `Invalid Effect ${JSON.stringify(st.Effect)}.`, 400);
    if (st.Sid !== undefined && (typeof st.Sid !== 'string' || !/^[A-Za-z0-9]*$/.test(st.Sid))) throw new AwsError('ValidationException', `Statement IDs (SID) must be alpha-numeric: ${JSON.stringify(st.Sid)}.`, 400);
  }
}

function coversEverything(v: unknown): boolean {
  return v === '*' || (Array.isArray(v) && v.includes('*'));
}

/** Every operator, every key, any value (IAM: AND across operators and keys, OR across values). A missing key fails the condition. */
function conditionsHold(condition: unknown, context: Record<string, string>): boolean {
  if (condition === undefined) return true;
  for (const [operator, block] of Object.entries(condition as Record<string, Record<string, unknown>>)) {
    for (const [key, raw] of Object.entries(block)) {
      const actual = context[key.toLowerCase()];
      if (actual === undefined) return false;
      const values = (Array.isArray(raw) ? raw : [raw]).map(String);
      const match = (v: string): boolean => {
        switch (operator) {
          case 'StringEquals':
            return actual === v;
          case 'StringNotEquals':
            return actual !== v;
          case 'DateLessThan':
            return Date.parse(actual) < Date.parse(v);
          case 'DateGreaterThan':
            return Date.parse(actual) > Date.parse(v);
          default:
            throw new Error(`The sandbox policy evaluator does not implement condition operator ${operator}.`);
        }
      };
      if (operator === 'StringNotEquals' ? !values.every(match) : !values.some(match)) return false;
    }
  }
  return true;
}

/**
 * Security Hub stand-in (restJson1): BatchImportFindings (POST /findings/import) stores findings in
 * the AWS Security Finding Format, deduplicated by (ProductArn, Id) with re-imports updating the
 * stored finding; GetFindings (POST /findings) filters, sorts and pages them. Every imported
 * finding is also emitted as the EventBridge event the product's rule listens to
 * (`detail-type: Security Hub Findings - Imported`, one finding per event, as AWS sends them).
 *
 * As strict as BatchImportFindings on what the product depends on. Sources:
 * - API reference, BatchImportFindings
 *   (https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_BatchImportFindings.html):
 *   with the default product ARN the calling account must be the finding's AwsAccountId; at most
 *   100 findings per request; "an error is returned for any finding larger than 240 Kb"; after
 *   creation BatchImportFindings cannot update Note, UserDefinedFields, VerificationState, Workflow.
 * - The API model (botocore securityhub 2018-10-26): Findings is a list of 1..100; SchemaVersion,
 *   Id, ProductArn, GeneratorId, AwsAccountId, CreatedAt, UpdatedAt, Title, Description and
 *   Resources are required members (a missing one fails the whole call: InvalidInputException).
 * - ASFF required attributes, "Required top-level attributes in ASFF"
 *   (https://docs.aws.amazon.com/securityhub/latest/userguide/asff-required-attributes.html): also
 *   Severity and Types; Resources 1..32 with Type and Id; timestamps RFC 3339/ISO 8601. A finding
 *   that breaks the format is refused on its own: FailedFindings [{Id, ErrorCode: "InvalidInput",
 *   ErrorMessage: "Finding does not adhere to Amazon Finding Format. ..."}] in a 200 answer.
 * - An account mismatch is refused as a whole call with AccessDeniedException ("not authorized to
 *   perform: securityhub:BatchImportFindings on resource: <product ARN>"), as AWS Support confirmed
 *   for a finding whose AwsAccountId was not the caller's (prowler-cloud/prowler issue #867).
 * - Workflow.Status (API_Workflow): reset from NOTIFIED/RESOLVED to NEW when RecordState changes
 *   from ARCHIVED to ACTIVE.
 * The calling account is the stand-in's configured account (the sandbox's stack account).
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { type SandboxClock, systemClock } from './clock';
import { type FaultKind, FaultQueue } from './faults';
import { JsonDocument } from './persistence';
import { AwsError, compact, paginate, parseInput } from './protocol';
import type { RestJsonService, RestRequest, RestRoute } from './rest-service';

export type AsffFinding = Record<string, unknown> & {
  SchemaVersion: string;
  Id: string;
  ProductArn: string;
  GeneratorId: string;
  AwsAccountId: string;
  CreatedAt: string;
  UpdatedAt: string;
  Title: string;
  Description: string;
  Resources: Array<Record<string, unknown> & { Type: string; Id: string }>;
  Severity?: { Label?: string; Normalized?: number; Original?: string; Product?: number };
  Types?: string[];
};

/** The EventBridge event Security Hub sends for imported findings. */
export interface SecurityHubImportedEvent {
  version: '0';
  id: string;
  'detail-type': 'Security Hub Findings - Imported';
  source: 'aws.securityhub';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: { findings: AsffFinding[] };
}

export type FindingsListener = (event: SecurityHubImportedEvent) => Promise<void> | void;

export interface SecurityHubOptions {
  clock?: SandboxClock;
  region?: string;
  /** The account Security Hub runs in (the event's `account`). */
  accountId?: string;
  dataFile?: string;
  log?: (message: string) => void;
}

const nonEmpty = z.string().min(1);
const timestamp = z.iso.datetime({ offset: true });
/** The ASFF format of one finding (what is refused per finding, with ErrorCode InvalidInput). */
const findingSchema = z
  .object({
    SchemaVersion: z.literal('2018-10-08'),
    Id: nonEmpty.max(512),
    ProductArn: nonEmpty.max(2048),
    GeneratorId: nonEmpty.max(512),
    AwsAccountId: z.string().regex(/^\d{12}$/, 'must be a 12-digit account id'),
    CreatedAt: timestamp,
    UpdatedAt: timestamp,
    Title: nonEmpty.max(256),
    Description: nonEmpty.max(1024),
    Resources: z.array(z.object({ Type: nonEmpty, Id: nonEmpty }).passthrough()).min(1).max(32),
    Severity: z
      .object({ Label: z.enum(['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL']).optional(), Normalized: z.number().int().min(0).max(100).optional(), Original: nonEmpty.optional(), Product: z.number().optional() })
      .passthrough()
      .refine((v) => v.Label !== undefined || v.Normalized !== undefined, 'should have required property Label'),
    Types: z.array(nonEmpty).min(1).max(50),
    RecordState: z.enum(['ACTIVE', 'ARCHIVED']).optional(),
    Workflow: z.object({ Status: z.enum(['NEW', 'NOTIFIED', 'RESOLVED', 'SUPPRESSED']).optional() }).passthrough().optional(),
    FirstObservedAt: timestamp.optional(),
    LastObservedAt: timestamp.optional(),
    ProcessedAt: timestamp.optional(),
  })
  .passthrough();
/** Required members of AwsSecurityFinding in the API model: missing one fails the whole request. */
export const MODEL_REQUIRED = ['SchemaVersion', 'Id', 'ProductArn', 'GeneratorId', 'AwsAccountId', 'CreatedAt', 'UpdatedAt', 'Title', 'Description', 'Resources'] as const;
const importSchema = z.object({ Findings: z.array(z.record(z.string(), z.unknown())).min(1).max(100) });
export const MAX_FINDINGS_PER_IMPORT = 100;
/** "The maximum allowed size for a finding is 240 Kb." */
export const MAX_FINDING_BYTES = 240 * 1024;
/** Fields a provider cannot change after creation: Security Hub keeps the stored values. */
const CUSTOMER_FIELDS = ['Note', 'UserDefinedFields', 'VerificationState', 'Workflow'] as const;

/** `arn:<partition>:securityhub:<region>:<account>:product/<account>/default`: the account's own custom product. */
export function defaultProductAccount(productArn: string): string | undefined {
  const m = /^arn:[a-z-]+:securityhub:[a-z0-9-]+:(\d{12}):product\/(\d{12})\/default$/.exec(productArn);
  return m ? m[1] : undefined;
}

const batchUpdateSchema = z.object({
  FindingIdentifiers: z.array(z.object({ Id: nonEmpty, ProductArn: nonEmpty })).min(1).max(100),
  Workflow: z.object({ Status: z.enum(['NEW', 'NOTIFIED', 'RESOLVED', 'SUPPRESSED']) }).optional(),
  Note: z.object({ Text: nonEmpty.max(512), UpdatedBy: nonEmpty.max(128) }).optional(),
  VerificationState: z.enum(['UNKNOWN', 'TRUE_POSITIVE', 'FALSE_POSITIVE', 'BENIGN_POSITIVE']).optional(),
  UserDefinedFields: z.record(z.string(), z.string()).optional(),
});

const stringFilter = z.object({ Value: nonEmpty, Comparison: z.enum(['EQUALS', 'PREFIX', 'NOT_EQUALS', 'PREFIX_NOT_EQUALS']) });
const getFindingsSchema = z.object({
  Filters: z.record(z.string(), z.array(z.unknown())).optional(),
  SortCriteria: z.array(z.object({ Field: nonEmpty, SortOrder: z.enum(['asc', 'desc']).optional() })).optional(),
  NextToken: z.string().optional(),
  MaxResults: z.number().int().min(1).max(100).optional(),
});

/** String filters the stand-in evaluates, and where each one reads the finding. */
const STRING_FIELDS: Record<string, (f: AsffFinding) => Array<string | undefined>> = {
  Id: (f) => [f.Id],
  ProductArn: (f) => [f.ProductArn],
  AwsAccountId: (f) => [f.AwsAccountId],
  GeneratorId: (f) => [f.GeneratorId],
  Region: (f) => [f.Region as string | undefined],
  Title: (f) => [f.Title],
  Type: (f) => (f.Types as string[] | undefined) ?? [],
  SeverityLabel: (f) => [f.Severity?.Label ?? labelFromNormalized(f.Severity?.Normalized)],
  ResourceType: (f) => f.Resources.map((r) => r.Type),
  ResourceId: (f) => f.Resources.map((r) => r.Id),
  RecordState: (f) => [(f.RecordState as string | undefined) ?? 'ACTIVE'],
  WorkflowStatus: (f) => [((f.Workflow as { Status?: string } | undefined)?.Status) ?? 'NEW'],
  ComplianceStatus: (f) => [(f.Compliance as { Status?: string } | undefined)?.Status],
  ProductName: (f) => [f.ProductName as string | undefined],
  CompanyName: (f) => [f.CompanyName as string | undefined],
};

/** ASFF: a finding without Severity.Label is labelled from Normalized. */
export function labelFromNormalized(normalized: number | undefined): string | undefined {
  if (normalized === undefined) return undefined;
  if (normalized === 0) return 'INFORMATIONAL';
  if (normalized < 40) return 'LOW';
  if (normalized < 70) return 'MEDIUM';
  if (normalized < 90) return 'HIGH';
  return 'CRITICAL';
}

interface StoredFinding {
  finding: AsffFinding;
  /** When Security Hub first saw it and last updated it (ASFF keeps these as UpdatedAt/CreatedAt from the provider). */
  importedAt: string;
  updatedAt: string;
  imports: number;
}

const persistedSchema = z.object({
  version: z.literal(1),
  findings: z.array(z.object({ finding: z.record(z.string(), z.unknown()), importedAt: z.string(), updatedAt: z.string(), imports: z.number() })),
});

export class SecurityHubStandIn implements RestJsonService {
  readonly name = 'securityhub';
  readonly faults = new FaultQueue();
  private readonly clock: SandboxClock;
  private readonly region: string;
  private readonly accountId: string;
  private readonly log: (message: string) => void;
  private readonly findings = new Map<string, StoredFinding>();
  private readonly listeners = new Set<FindingsListener>();
  private readonly deliveries = new Set<Promise<void>>();
  private readonly doc: JsonDocument<z.infer<typeof persistedSchema>>;

  constructor(options: SecurityHubOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '111111111111';
    this.log = options.log ?? ((m) => console.error(m));
    const { doc, loaded } = JsonDocument.open(options.dataFile, persistedSchema, () => ({ version: 1 as const, findings: [...this.findings.values()] }));
    this.doc = doc;
    for (const f of loaded?.findings ?? []) this.findings.set(findingKey(f.finding as AsffFinding), f as unknown as StoredFinding);
  }

  /** Registers the consumer of `Security Hub Findings - Imported` events (in the sandbox: the findings handler). */
  onFindingsImported(listener: FindingsListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  faultError(kind: Exclude<FaultKind, 'fail'>, operation: string, message?: string): AwsError {
    if (kind === 'throttle') return new AwsError('LimitExceededException', message ?? 'Rate exceeded', 429, { Code: 'LimitExceededException' });
    if (kind === 'conflict') return new AwsError('ResourceConflictException', message ?? `${operation} conflicts with a concurrent update.`, 409, { Code: 'ResourceConflictException' });
    return new AwsError('InternalException', message ?? 'Internal service error.', 500, { Code: 'InternalException' });
  }

  route(req: RestRequest): RestRoute | undefined {
    if (req.method === 'PATCH' && req.segments.length === 2 && req.segments[0] === 'findings' && req.segments[1] === 'batchupdate') {
      return { operation: 'BatchUpdateFindings', run: async () => this.batchUpdateFindings(req.body) };
    }
    if (req.method !== 'POST' || req.segments[0] !== 'findings') return undefined;
    if (req.segments.length === 2 && req.segments[1] === 'import') return { operation: 'BatchImportFindings', run: async () => this.batchImportFindings(req.body) };
    if (req.segments.length === 1) return { operation: 'GetFindings', run: async () => this.getFindings(req.body) };
    return undefined;
  }

  batchImportFindings(body: unknown): { FailedCount: number; SuccessCount: number; FailedFindings: Array<{ Id: string; ErrorCode: string; ErrorMessage: string }> } {
    const req = parseInput(importSchema, body, 'InvalidInputException');
    // Whole-call checks first: a request AWS refuses as a whole stores nothing.
    req.Findings.forEach((raw, i) => {
      for (const member of MODEL_REQUIRED) {
        if (raw[member] === undefined || raw[member] === null) throw new AwsError('InvalidInputException', `1 validation error detected: Value null at 'findings.${i + 1}.member.${member.charAt(0).toLowerCase()}${member.slice(1)}' failed to satisfy constraint: Member must not be null`, 400, { Code: 'InvalidInputException' });
      }
      const productArn = String(raw.ProductArn);
      const productAccount = /^arn:[a-z-]+:securityhub:[a-z0-9-]+:(\d{12}):product\//.exec(productArn)?.[1];
      const isDefault = productArn.endsWith('/default');
      // The default product of another account, or a finding for another account under our default product.
      if (isDefault && (productAccount !== this.accountId || defaultProductAccount(productArn) !== this.accountId || raw.AwsAccountId !== this.accountId)) {
        throw new AwsError('AccessDeniedException', `User: arn:aws:sts::${this.accountId}:assumed-role/sandbox/caller is not authorized to perform: securityhub:BatchImportFindings on resource: ${productArn}`, 403, { Code: 'AccessDeniedException' });
      }
    });
    const failed: Array<{ Id: string; ErrorCode: string; ErrorMessage: string }> = [];
    const accepted: AsffFinding[] = [];
    /** Not newer than the stored version: counted as a success, stored and announced nowhere. */
    const ignored: string[] = [];
    const now = new Date(this.clock.now()).toISOString();
    for (const raw of req.Findings) {
      const id = typeof raw.Id === 'string' && raw.Id !== '' ? raw.Id : '<missing Id>';
      const bytes = Buffer.byteLength(JSON.stringify(raw), 'utf8');
      if (bytes > MAX_FINDING_BYTES) {
        failed.push({ Id: id, ErrorCode: 'InvalidInput', ErrorMessage: `Finding size exceeded 240 KB (${bytes} bytes)` });
        continue;
      }
      const parsed = findingSchema.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        failed.push({ Id: id, ErrorCode: 'InvalidInput', ErrorMessage: `Finding does not adhere to Amazon Finding Format. data.${issue?.path.join('.') || 'finding'}: ${issue?.message}` });
        continue;
      }
      let finding = parsed.data as AsffFinding;
      const k = findingKey(finding);
      const existing = this.findings.get(k);
      // "If the UpdatedAt on the update matches or occurred before the UpdatedAt on the existing
      // finding, Security Hub ignores the update" (BatchImportFindings for finding providers,
      // https://docs.aws.amazon.com/securityhub/latest/userguide/finding-update-batchimportfindings.html).
      if (existing && Date.parse(finding.UpdatedAt) <= Date.parse(existing.finding.UpdatedAt)) {
        ignored.push(finding.Id);
        continue;
      }
      if (existing) {
        finding = updatedFinding(existing.finding, finding);
        existing.finding = finding;
        existing.updatedAt = now;
        existing.imports += 1;
      } else {
        this.findings.set(k, { finding, importedAt: now, updatedAt: now, imports: 1 });
      }
      accepted.push(finding);
    }
    if (accepted.length > 0) this.doc.save();
    for (const finding of accepted) this.emit(finding);
    return { FailedCount: failed.length, SuccessCount: accepted.length + ignored.length, FailedFindings: failed };
  }

  /**
   * BatchUpdateFindings (PATCH /findings/batchupdate), the customer's side: Workflow, Note,
   * VerificationState and UserDefinedFields of up to 100 existing findings. "Your updates don't
   * affect existing values for the UpdatedAt field", and each update emits a "Security Hub
   * Findings - Imported" event ("BatchUpdateFindings for customers",
   * https://docs.aws.amazon.com/securityhub/latest/userguide/finding-update-batchupdatefindings.html).
   * Per-finding errors as the API model lists them (FindingNotFound "Finding Not Found",
   * DuplicatedFindingIdentifier "Finding Identifier is duplicated"). The other updatable fields
   * (Severity, Confidence, Criticality, Types, RelatedFindings) are not modelled here: refused.
   */
  batchUpdateFindings(body: unknown): { ProcessedFindings: Array<{ Id: string; ProductArn: string }>; UnprocessedFindings: Array<{ FindingIdentifier: { Id: string; ProductArn: string }; ErrorCode: string; ErrorMessage: string }> } {
    const req = parseInput(batchUpdateSchema, body, 'InvalidInputException');
    const unsupported = Object.keys(body as object).filter((k) => !['FindingIdentifiers', 'Workflow', 'Note', 'VerificationState', 'UserDefinedFields'].includes(k));
    if (unsupported.length > 0) throw new AwsError('InvalidInputException', `The sandbox Security Hub does not update ${unsupported.join(', ')}.`, 400, { Code: 'InvalidInputException' });
    if (!req.Workflow && !req.Note && !req.VerificationState && !req.UserDefinedFields) throw new AwsError('InvalidInputException', 'At least one field to update is required.', 400, { Code: 'InvalidInputException' });
    const processed: Array<{ Id: string; ProductArn: string }> = [];
    const unprocessed: Array<{ FindingIdentifier: { Id: string; ProductArn: string }; ErrorCode: string; ErrorMessage: string }> = [];
    const seen = new Set<string>();
    const updated: AsffFinding[] = [];
    for (const id of req.FindingIdentifiers) {
      const k = findingKey(id);
      if (seen.has(k)) {
        unprocessed.push({ FindingIdentifier: id, ErrorCode: 'DuplicatedFindingIdentifier', ErrorMessage: 'Finding Identifier is duplicated' });
        continue;
      }
      seen.add(k);
      const stored = this.findings.get(k);
      if (!stored) {
        unprocessed.push({ FindingIdentifier: id, ErrorCode: 'FindingNotFound', ErrorMessage: 'Finding Not Found' });
        continue;
      }
      const next: AsffFinding = { ...stored.finding };
      if (req.Workflow) next.Workflow = { ...((next.Workflow as object | undefined) ?? {}), ...req.Workflow };
      if (req.Note) next.Note = { ...req.Note, UpdatedAt: new Date(this.clock.now()).toISOString() };
      if (req.VerificationState) next.VerificationState = req.VerificationState;
      if (req.UserDefinedFields) next.UserDefinedFields = req.UserDefinedFields;
      stored.finding = next;
      processed.push(id);
      updated.push(next);
    }
    if (updated.length > 0) this.doc.save();
    for (const f of updated) this.emit(f);
    return { ProcessedFindings: processed, UnprocessedFindings: unprocessed };
  }

  getFindings(body: unknown): { Findings: AsffFinding[]; NextToken?: string } {
    const req = parseInput(getFindingsSchema, body, 'InvalidInputException');
    const predicates: Array<(f: AsffFinding) => boolean> = [];
    for (const [field, rawFilters] of Object.entries(req.Filters ?? {})) {
      const read = STRING_FIELDS[field];
      if (!read) throw new AwsError('InvalidInputException', `The sandbox Security Hub does not filter on ${field}; supported: ${Object.keys(STRING_FIELDS).join(', ')}.`, 400, { Code: 'InvalidInputException' });
      const filters = rawFilters.map((f) => parseInput(stringFilter, f, 'InvalidInputException'));
      const positive = filters.filter((f) => f.Comparison === 'EQUALS' || f.Comparison === 'PREFIX');
      const negative = filters.filter((f) => f.Comparison === 'NOT_EQUALS' || f.Comparison === 'PREFIX_NOT_EQUALS');
      if (filters.some((f) => f.Comparison === 'EQUALS') && negative.length > 0) throw new AwsError('InvalidInputException', `Filters on ${field} cannot combine EQUALS with NOT_EQUALS or PREFIX_NOT_EQUALS.`, 400, { Code: 'InvalidInputException' });
      predicates.push((finding) => {
        const values = read(finding).filter((v): v is string => v !== undefined);
        // Positive filters on one field are ORed, negative ones ANDed (as Security Hub documents).
        const passesPositive = positive.length === 0 || positive.some((f) => values.some((v) => (f.Comparison === 'EQUALS' ? v === f.Value : v.startsWith(f.Value))));
        const passesNegative = negative.every((f) => values.every((v) => (f.Comparison === 'NOT_EQUALS' ? v !== f.Value : !v.startsWith(f.Value))));
        return passesPositive && passesNegative;
      });
    }
    const sort = req.SortCriteria?.[0] ?? { Field: 'UpdatedAt', SortOrder: 'desc' as const };
    const direction = sort.SortOrder === 'asc' ? 1 : -1;
    const items = [...this.findings.values()]
      .map((s) => s.finding)
      .filter((f) => predicates.every((p) => p(f)))
      .sort((a, b) => direction * String(a[sort.Field] ?? '').localeCompare(String(b[sort.Field] ?? '')) || a.Id.localeCompare(b.Id));
    const { page, nextToken } = paginate(items, req.NextToken, req.MaxResults ?? 100, 'InvalidInputException');
    return compact({ Findings: page, NextToken: nextToken });
  }

  /** Everything stored, newest update first (inspection). */
  list(): Array<{ finding: AsffFinding; importedAt: string; updatedAt: string; imports: number }> {
    return [...this.findings.values()].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt)).map((s) => structuredClone(s));
  }

  /** Resolves when every event emitted so far has been handled by the listeners (tests). */
  async idle(): Promise<void> {
    while (this.deliveries.size > 0) await Promise.all([...this.deliveries]);
  }

  async stop(): Promise<void> {
    await this.idle();
    this.doc.save();
    await this.doc.flush();
  }

  private emit(finding: AsffFinding): void {
    const event: SecurityHubImportedEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Security Hub Findings - Imported',
      source: 'aws.securityhub',
      account: this.accountId,
      time: new Date(this.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.region,
      resources: [`${finding.ProductArn}/${finding.Id}`],
      detail: { findings: [structuredClone(finding)] },
    };
    for (const listener of this.listeners) {
      const delivery = (async () => {
        try {
          await listener(event);
        } catch (e) {
          this.log(`[sandbox] findings listener failed for ${finding.Id}: ${e instanceof Error ? e.message : String(e)}`);
        }
      })().finally(() => this.deliveries.delete(delivery));
      this.deliveries.add(delivery);
    }
  }
}

/**
 * A provider's re-import of an existing finding: the customer's fields stay as they are (Workflow,
 * Note, UserDefinedFields, VerificationState), except that un-archiving resets the workflow to NEW.
 */
function updatedFinding(stored: AsffFinding, incoming: AsffFinding): AsffFinding {
  const next: AsffFinding = { ...incoming };
  for (const field of CUSTOMER_FIELDS) {
    if (stored[field] === undefined) delete next[field];
    else next[field] = structuredClone(stored[field]);
  }
  const wasArchived = (stored.RecordState as string | undefined) === 'ARCHIVED';
  const isActive = ((incoming.RecordState as string | undefined) ?? 'ACTIVE') === 'ACTIVE';
  if (wasArchived && isActive) next.Workflow = { ...((next.Workflow as object | undefined) ?? {}), Status: 'NEW' };
  return next;
}

function findingKey(f: Pick<AsffFinding, 'ProductArn' | 'Id'>): string {
  return `${f.ProductArn}|${f.Id}`;
}

/** A sample HIGH finding (an IAM access key exposed), in ASFF, for `npm run sandbox:finding`. */
export function sampleHighFinding(options: { accountId: string; region?: string; now: number; id?: string }): AsffFinding {
  const region = options.region ?? 'us-east-1';
  const at = new Date(options.now).toISOString();
  const id = options.id ?? `sandbox-sample-${options.now.toString(36)}`;
  return {
    SchemaVersion: '2018-10-08',
    Id: id,
    ProductArn: `arn:aws:securityhub:${region}:${options.accountId}:product/${options.accountId}/default`,
    ProductName: 'Sandbox',
    CompanyName: 'Teams JIT Access (sandbox)',
    GeneratorId: 'sandbox-sample-generator',
    AwsAccountId: options.accountId,
    Region: region,
    Types: ['Software and Configuration Checks/AWS Security Best Practices', 'Effects/Data Exposure'],
    CreatedAt: at,
    UpdatedAt: at,
    FirstObservedAt: at,
    LastObservedAt: at,
    Severity: { Label: 'HIGH', Normalized: 70, Original: 'HIGH' },
    Title: 'IAM access key for a privileged user was exposed in a public repository',
    Description: 'Sample finding injected by `npm run sandbox:finding`: an active access key of an administrator was found in a public code repository. Rotate the key and review CloudTrail activity.',
    Remediation: { Recommendation: { Text: 'Deactivate and rotate the access key, then review recent API activity.', Url: 'https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html' } },
    Resources: [{ Type: 'AwsIamAccessKey', Id: `arn:aws:iam::${options.accountId}:user/sandbox-admin`, Partition: 'aws', Region: region }],
    Workflow: { Status: 'NEW' },
    RecordState: 'ACTIVE',
  };
}

// ─────────────────────────────────────────────────────────────────────────────────────────────
// Read-only account operations for the deploy preflight: DescribeHub (GET /accounts) and
// GetAdministratorAccount (GET /administrator). A separate restJson1 service in its own block so
// that it shares nothing with the findings import above.
//
// Rules it enforces, as Security Hub does (AWS Security Hub API Reference, DescribeHub and
// GetAdministratorAccount; securityhub 2018-10-26 model):
// - in an account/Region where Security Hub is not enabled, both answer InvalidAccessException
//   (HTTP 401, "Account ... is not subscribed to AWS Security Hub");
// - DescribeHub's optional HubArn query parameter is a NonEmptyString (`.*\S.*`);
// - GetAdministratorAccount answers `{}` when the account has no administrator, else
//   `Administrator` {AccountId, InvitationId, InvitedAt, MemberStatus}.
// Known differences: the calling account is configured, not derived from the request signature;
// a HubArn of another account's hub is not checked (the preflight never sends one).
// ─────────────────────────────────────────────────────────────────────────────────────────────

export interface SecurityHubAccountOptions {
  region: string;
  /** The calling account. */
  accountId: string;
  /** Whether Security Hub is enabled in this account and Region. Default true. */
  enabled?: boolean;
  /** The Security Hub administrator account, when this account is a member. */
  administratorAccountId?: string;
  now?: () => number;
}

export class SecurityHubAccountStandIn implements RestJsonService {
  readonly name = 'securityhub-account';
  readonly faults = new FaultQueue();
  private readonly subscribedAt: number;

  constructor(private readonly options: SecurityHubAccountOptions) {
    this.subscribedAt = (options.now ?? Date.now)();
  }

  get hubArn(): string {
    return `arn:aws:securityhub:${this.options.region}:${this.options.accountId}:hub/default`;
  }

  faultError(kind: Exclude<FaultKind, 'fail'>, operation: string, message?: string): AwsError {
    if (kind === 'throttle') return new AwsError('LimitExceededException', message ?? 'Rate exceeded', 429, { Code: 'LimitExceededException' });
    if (kind === 'conflict') return new AwsError('ResourceConflictException', message ?? `${operation} conflicts with a concurrent update.`, 409, { Code: 'ResourceConflictException' });
    return new AwsError('InternalException', message ?? 'Internal service error.', 500, { Code: 'InternalException' });
  }

  route(req: RestRequest): RestRoute | undefined {
    if (req.method !== 'GET' || req.segments.length !== 1) return undefined;
    if (req.segments[0] === 'accounts') return { operation: 'DescribeHub', run: async () => this.describeHub(req.query.get('HubArn') ?? undefined) };
    if (req.segments[0] === 'administrator') return { operation: 'GetAdministratorAccount', run: async () => this.getAdministratorAccount() };
    return undefined;
  }

  private requireEnabled(): void {
    if (this.options.enabled === false) {
      throw new AwsError('InvalidAccessException', `Account ${this.options.accountId} is not subscribed to AWS Security Hub`, 401, { Code: 'InvalidAccessException' });
    }
  }

  describeHub(hubArn: string | undefined): { HubArn: string; SubscribedAt: string; AutoEnableControls: boolean; ControlFindingGenerator: string } {
    if (hubArn !== undefined) {
      if (!/\S/.test(hubArn)) throw new AwsError('InvalidInputException', 'HubArn must not be blank.', 400, { Code: 'InvalidInputException' });
    }
    this.requireEnabled();
    return { HubArn: this.hubArn, SubscribedAt: new Date(this.subscribedAt).toISOString(), AutoEnableControls: true, ControlFindingGenerator: 'SECURITY_CONTROL' };
  }

  getAdministratorAccount(): { Administrator?: { AccountId: string; InvitationId: string; InvitedAt: string; MemberStatus: string } } {
    this.requireEnabled();
    const admin = this.options.administratorAccountId;
    if (!admin || admin === this.options.accountId) return {};
    return { Administrator: { AccountId: admin, InvitationId: `sandbox-invitation-${admin}`, InvitedAt: new Date(this.subscribedAt).toISOString(), MemberStatus: 'Enabled' } };
  }
}

/**
 * AWS Organizations stand-in (awsJson1_1, `X-Amz-Target: AWSOrganizationsV20161128.<Op>`): the
 * four read-only operations the deploy preflight (scripts/preflight.ts) calls.
 *
 * Rules it enforces, as the real service does (AWS Organizations API Reference, and the
 * organizations 2016-11-28 API model in botocore):
 * - DescribeOrganization may be called by any account of the organization; ListAccounts,
 *   DescribeAccount and ListDelegatedAdministrators only by the management account or a member
 *   account that is a delegated administrator (API Reference, each operation: "This operation can
 *   be called only from the organization's management account or by a member account that is a
 *   delegated administrator") -> AccessDeniedException.
 * - An account outside any organization gets AWSOrganizationsNotInUseException from all four.
 * - MaxResults 1-20, AccountId `^\d{12}$` (required for DescribeAccount), ServicePrincipal 1-128
 *   characters of `[\w+=,.@-]`: violations are InvalidInputException with the model's Reason
 *   (MIN_VALUE_EXCEEDED, MAX_VALUE_EXCEEDED, INVALID_PATTERN, INPUT_REQUIRED,
 *   MAX_LENGTH_EXCEEDED, MIN_LENGTH_EXCEEDED); a NextToken it did not issue is INVALID_NEXT_TOKEN.
 * - DescribeAccount of an account that is not in the organization -> AccountNotFoundException.
 * Known differences: requests are not signed, so the calling account is configured
 * (`callerAccountId`) rather than derived from the credentials; no OUs, policies or tags.
 */
import { type FaultKind, FaultQueue } from './faults';
import { AwsError, compact, decodePageToken, epochSeconds, paginate } from './protocol';
import type { JsonRpcService } from './service';

export interface OrganizationAccountSeed {
  id: string;
  name: string;
  email?: string;
  /** `ACTIVE` (default), `SUSPENDED` or `PENDING_CLOSURE` (the model's AccountStatus). */
  status?: 'ACTIVE' | 'SUSPENDED' | 'PENDING_CLOSURE';
}

export interface OrganizationsOptions {
  /** The management account (DescribeOrganization's MasterAccountId). */
  managementAccountId: string;
  /** Member accounts (the management account is added if missing). */
  accounts: readonly OrganizationAccountSeed[];
  /** Delegated administrators by service principal, e.g. `{ 'sso.amazonaws.com': ['123456789012'] }`. */
  delegatedAdministrators?: Readonly<Record<string, readonly string[]>>;
  /** The account whose credentials call the stand-in (requests are not signed here). */
  callerAccountId: string;
  /** `false`: the caller belongs to no organization (AWSOrganizationsNotInUseException). */
  inOrganization?: boolean;
  organizationId?: string;
  /** Epoch ms used for JoinedTimestamp / DelegationEnabledDate. */
  now?: () => number;
}

const ACCOUNT_ID = /^\d{12}$/;
const SERVICE_PRINCIPAL = /^[\w+=,.@-]*$/;

/** The model's InvalidInputException, with its Reason. */
function invalidInput(reason: string, message: string): AwsError {
  return new AwsError('InvalidInputException', message, 400, { Reason: reason });
}

function object(input: unknown): Record<string, unknown> {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) throw new AwsError('SerializationException', 'The request body must be a JSON object.', 400);
  return input as Record<string, unknown>;
}

function maxResults(value: unknown): number {
  if (value === undefined) return 20;
  // A wrong JSON type fails deserialization before validation, as in every awsJson service.
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new AwsError('SerializationException', 'MaxResults must be an integer.', 400);
  if (value < 1) throw invalidInput('MIN_VALUE_EXCEEDED', 'You provided a value that is too small for MaxResults (minimum 1).');
  if (value > 20) throw invalidInput('MAX_VALUE_EXCEEDED', 'You provided a value that is too large for MaxResults (maximum 20).');
  return value;
}

function nextToken(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new AwsError('SerializationException', 'NextToken must be a string.', 400);
  try {
    decodePageToken(value);
  } catch {
    throw invalidInput('INVALID_NEXT_TOKEN', 'The NextToken is not valid.');
  }
  return value;
}

export class OrganizationsStandIn implements JsonRpcService {
  readonly targetPrefix = 'AWSOrganizationsV20161128';
  readonly jsonVersion = '1.1' as const;
  readonly faults = new FaultQueue();
  readonly managementAccountId: string;
  readonly organizationId: string;
  private readonly accounts: Array<Required<OrganizationAccountSeed>>;
  private readonly delegated: Record<string, string[]>;
  private callerAccountId: string;
  private readonly inOrganization: boolean;
  private readonly createdAt: number;

  constructor(options: OrganizationsOptions) {
    this.managementAccountId = options.managementAccountId;
    this.organizationId = options.organizationId ?? 'o-sandbox0001';
    this.inOrganization = options.inOrganization ?? true;
    this.callerAccountId = options.callerAccountId;
    this.createdAt = (options.now ?? Date.now)();
    const seeds = options.accounts.some((a) => a.id === options.managementAccountId) ? options.accounts : [{ id: options.managementAccountId, name: 'management' }, ...options.accounts];
    this.accounts = seeds.map((a) => ({ id: a.id, name: a.name, email: a.email ?? `aws+${a.id}@example.com`, status: a.status ?? 'ACTIVE' }));
    this.delegated = Object.fromEntries(Object.entries(options.delegatedAdministrators ?? {}).map(([k, v]) => [k, [...v]]));
  }

  /** Tests switch the calling account (the credentials the stand-in would see). */
  setCaller(accountId: string): void {
    this.callerAccountId = accountId;
  }

  faultError(kind: Exclude<FaultKind, 'fail'>, operation: string, message?: string): AwsError {
    if (kind === 'throttle') return new AwsError('TooManyRequestsException', message ?? 'You have sent too many requests in too short a period of time.', 400, { Type: 'AWS' });
    if (kind === 'conflict') return new AwsError('ConcurrentModificationException', message ?? `${operation}: the target of the operation is being modified by a different request.`, 400);
    return new AwsError('ServiceException', message ?? 'AWS Organizations can\'t complete your request because of an internal service error.', 500);
  }

  async handle(operation: string, input: unknown): Promise<unknown> {
    const handler = this.operations[operation];
    if (!handler) throw new AwsError('UnknownOperationException', `The sandbox Organizations does not implement ${operation}.`, 400);
    if (!this.inOrganization) throw new AwsError('AWSOrganizationsNotInUseException', 'Your account is not a member of an organization.', 400);
    return handler(object(input));
  }

  private readonly operations: Record<string, (input: Record<string, unknown>) => unknown> = {
    DescribeOrganization: () => ({
      Organization: {
        Id: this.organizationId,
        Arn: `arn:aws:organizations::${this.managementAccountId}:organization/${this.organizationId}`,
        FeatureSet: 'ALL',
        MasterAccountArn: this.accountArn(this.managementAccountId),
        MasterAccountId: this.managementAccountId,
        MasterAccountEmail: this.account(this.managementAccountId)?.email,
        AvailablePolicyTypes: [],
      },
    }),
    ListAccounts: (input) => {
      this.requireAdministrator();
      const { page, nextToken: next } = paginate(this.accounts, nextToken(input.NextToken), maxResults(input.MaxResults));
      return compact({ Accounts: page.map((a) => this.view(a)), NextToken: next });
    },
    DescribeAccount: (input) => {
      this.requireAdministrator();
      const id = input.AccountId;
      if (id === undefined) throw invalidInput('INPUT_REQUIRED', 'You must specify a value for AccountId.');
      if (typeof id !== 'string') throw new AwsError('SerializationException', 'AccountId must be a string.', 400);
      if (!ACCOUNT_ID.test(id)) throw invalidInput('INVALID_PATTERN', 'AccountId must be a string of exactly 12 digits.');
      const account = this.account(id);
      if (!account) throw new AwsError('AccountNotFoundException', 'You specified an account that doesn\'t exist.', 400);
      return { Account: this.view(account) };
    },
    ListDelegatedAdministrators: (input) => {
      this.requireAdministrator();
      const principal = input.ServicePrincipal;
      if (principal !== undefined) {
        if (typeof principal !== 'string') throw new AwsError('SerializationException', 'ServicePrincipal must be a string.', 400);
        if (!SERVICE_PRINCIPAL.test(principal)) throw invalidInput('INVALID_PATTERN', 'ServicePrincipal must match [\\w+=,.@-]*.');
        if (principal.length < 1) throw invalidInput('MIN_LENGTH_EXCEEDED', 'ServicePrincipal must be at least 1 character.');
        if (principal.length > 128) throw invalidInput('MAX_LENGTH_EXCEEDED', 'ServicePrincipal must be at most 128 characters.');
      }
      const ids = principal === undefined ? [...new Set(Object.values(this.delegated).flat())] : (this.delegated[principal] ?? []);
      const admins = ids.map((id) => this.account(id)).filter((a): a is Required<OrganizationAccountSeed> => a !== undefined);
      const { page, nextToken: next } = paginate(admins, nextToken(input.NextToken), maxResults(input.MaxResults));
      return compact({ DelegatedAdministrators: page.map((a) => ({ ...this.view(a), DelegationEnabledDate: epochSeconds(this.createdAt) })), NextToken: next });
    },
  };

  private requireAdministrator(): void {
    const isDelegated = Object.values(this.delegated).some((ids) => ids.includes(this.callerAccountId));
    if (this.callerAccountId !== this.managementAccountId && !isDelegated) {
      throw new AwsError('AccessDeniedException', 'You don\'t have permissions to access this resource. This operation can be called only from the organization\'s management account or by a member account that is a delegated administrator.', 400);
    }
  }

  private account(id: string): Required<OrganizationAccountSeed> | undefined {
    return this.accounts.find((a) => a.id === id);
  }

  private accountArn(id: string): string {
    return `arn:aws:organizations::${this.managementAccountId}:account/${this.organizationId}/${id}`;
  }

  private view(a: Required<OrganizationAccountSeed>) {
    const state = a.status === 'ACTIVE' ? 'ACTIVE' : a.status === 'SUSPENDED' ? 'SUSPENDED' : 'PENDING_CLOSURE';
    return {
      Id: a.id,
      Arn: this.accountArn(a.id),
      Email: a.email,
      Name: a.name,
      Status: a.status,
      State: state,
      JoinedMethod: a.id === this.managementAccountId ? 'CREATED' : 'INVITED',
      JoinedTimestamp: epochSeconds(this.createdAt),
    };
  }
}

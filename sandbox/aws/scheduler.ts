/**
 * EventBridge Scheduler stand-in (restJson1: /schedules/{Name}).
 *
 * One-time `at(...)` schedules fire on real timers (or an injected clock) by calling the target
 * registered for the schedule's Target.Arn: in the sandbox, the revoke handler. Like the real
 * service it honours State, FlexibleTimeWindow, ScheduleExpressionTimezone, the target's
 * RetryPolicy (retries with backoff, bounded by attempts and event age), records what it gives
 * up on in the dead-letter list (the SQS queue named by DeadLetterConfig), and applies
 * ActionAfterCompletion (DELETE removes the schedule after its last invocation).
 * Schedules are persisted: pending ones are re-armed on start and overdue ones fire at once.
 *
 * Only one-time schedules are supported; rate() and cron() are refused with a clear
 * ValidationException rather than accepted and never run.
 */
import { z } from 'zod';
import { type SandboxClock, type Timer, systemClock } from './clock';
import { type FaultKind, FaultQueue } from './faults';
import { JsonDocument } from './persistence';
import { AwsError, compact, epochSeconds, paginate, parseInput } from './protocol';
import type { RestJsonService, RestRequest, RestRoute } from './rest-service';

/** What a target receives: the parsed Target.Input (or the raw string if it is not JSON). */
export type ScheduleTargetHandler = (input: unknown, invocation: ScheduleInvocationContext) => Promise<unknown> | unknown;

export interface ScheduleInvocationContext {
  scheduleArn: string;
  name: string;
  groupName: string;
  targetArn: string;
  /** 0 for the first attempt. */
  attempt: number;
  /** When the schedule was due (ISO). */
  scheduledTime: string;
}

export interface ScheduleInvocationRecord extends ScheduleInvocationContext {
  /** When the target was called (the schedule fired), and when it returned. */
  startedAt: string;
  at: string;
  ok: boolean;
  error?: string;
}

export interface DeadLetterRecord {
  scheduleArn: string;
  name: string;
  groupName: string;
  targetArn: string;
  /** DeadLetterConfig.Arn; undefined when the schedule had none (the event was dropped). */
  deadLetterArn?: string;
  input?: string;
  error: string;
  attempts: number;
  scheduledTime: string;
  at: string;
}

export interface SchedulerOptions {
  clock?: SandboxClock;
  random?: () => number;
  region?: string;
  accountId?: string;
  /**
   * Schedule groups that exist besides `default` (the stack creates its own). A schedule in any
   * other group is a ResourceNotFoundException, as AWS answers for a group that was never created.
   */
  scheduleGroups?: readonly string[];
  /** Delay before retry `attempt` (1-based). Default: exponential from 1 s, capped at 60 s. */
  retryDelayMs?: (attempt: number) => number;
  dataFile?: string;
  /** Where failures of targets are reported (default console.error). */
  log?: (message: string) => void;
}

/**
 * Constraints below are the Scheduler API model's (botocore `scheduler/2021-06-30/service-2.json`,
 * and the EventBridge Scheduler API Reference, CreateSchedule / Target / RetryPolicy pages):
 * Name and GroupName `^[0-9a-zA-Z-_.]+$` 1-64, ClientToken `^[a-zA-Z0-9-_]+$` 1-64, Description
 * <= 512, FlexibleTimeWindow required (MaximumWindowInMinutes 1-1440, only with FLEXIBLE),
 * RetryPolicy MaximumRetryAttempts 0-185 and MaximumEventAgeInSeconds 60-86400, DeadLetterConfig
 * an SQS queue ARN, RoleArn an IAM role ARN.
 */
const NAME = /^[0-9a-zA-Z-_.]+$/;
const clientTokenSchema = z.string().min(1).max(64).regex(/^[a-zA-Z0-9-_]+$/, 'Member must satisfy regular expression pattern: ^[a-zA-Z0-9-_]+$');
const nameSchema = z.string().min(1).max(64).regex(NAME, 'Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$');
const scheduleInputSchema = z.object({
  ClientToken: clientTokenSchema.optional(),
  Description: z.string().max(512).optional(),
  EndDate: z.number().optional(),
  StartDate: z.number().optional(),
  FlexibleTimeWindow: z.object({ Mode: z.enum(['OFF', 'FLEXIBLE']), MaximumWindowInMinutes: z.number().int().min(1).max(1440).optional() }),
  GroupName: nameSchema.optional(),
  // Scheduler API reference, CreateSchedule request parameters (KmsKeyArn pattern).
  KmsKeyArn: z.string().min(1).max(2048).regex(/^arn:aws(-[a-z]+)?:kms:[a-z0-9-]+:\d{12}:(key|alias)\/[0-9a-zA-Z-_]*$/, 'Member must satisfy regular expression pattern: ^arn:aws(-[a-z]+)?:kms:[a-z0-9\\-]+:\\d{12}:(key|alias)\\/[0-9a-zA-Z-_]*$').optional(),
  ScheduleExpression: z.string().min(1).max(256),
  ScheduleExpressionTimezone: z.string().min(1).max(50).optional(),
  State: z.enum(['ENABLED', 'DISABLED']).optional(),
  ActionAfterCompletion: z.enum(['NONE', 'DELETE']).optional(),
  Target: z
    .object({
      Arn: z.string().min(1).max(1600),
      // The 2026 model allows role paths (`role/path/name`); the 2022 one allowed only `service-role/`.
      RoleArn: z.string().min(1).max(1600).regex(/^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'Member must satisfy regular expression pattern: ^arn:aws(-[a-z]+)?:iam::\\d{12}:role\\/[\\w+=,.@\\/-]+$'),
      Input: z.string().min(1).optional(),
      RetryPolicy: z.object({ MaximumEventAgeInSeconds: z.number().int().min(60).max(86400).optional(), MaximumRetryAttempts: z.number().int().min(0).max(185).optional() }).optional(),
      DeadLetterConfig: z.object({ Arn: z.string().min(1).max(1600).regex(/^arn:aws(-[a-z]+)?:sqs:[a-z0-9-]+:\d{12}:[a-zA-Z0-9\-_]+$/, 'Member must satisfy regular expression pattern: ^arn:aws(-[a-z]+)?:sqs:[a-z0-9\\-]+:\\d{12}:[a-zA-Z0-9\\-_]+$').optional() }).optional(),
    })
    .passthrough(),
});
type ScheduleInput = z.infer<typeof scheduleInputSchema>;

const scheduleRecordSchema = z.object({
  name: z.string(),
  groupName: z.string(),
  definition: z.record(z.string(), z.unknown()),
  clientToken: z.string().optional(),
  creationDate: z.number(),
  lastModificationDate: z.number(),
  /** When it is due (epoch ms), including any flexible-window offset. */
  dueAt: z.number(),
  /** Retry state of the current firing. */
  attempts: z.number(),
  firstAttemptAt: z.number().optional(),
  nextAttemptAt: z.number().optional(),
  /** Set once the last invocation is done (an at() schedule fires once). */
  completedAt: z.number().optional(),
});
type ScheduleRecord = z.infer<typeof scheduleRecordSchema> & { definition: ScheduleInput };

const persistedSchema = z.object({
  version: z.literal(1),
  schedules: z.array(scheduleRecordSchema),
  deadLetters: z.array(z.record(z.string(), z.unknown())),
});

const DEFAULT_MAX_EVENT_AGE_S = 86_400;
const DEFAULT_MAX_RETRIES = 185;
const MAX_DEAD_LETTERS = 1_000;
const MAX_INVOCATION_LOG = 1_000;

export function defaultRetryDelayMs(attempt: number): number {
  return Math.min(60_000, 1_000 * 2 ** Math.max(0, attempt - 1));
}

/** Wall-clock time `local` in `timeZone`, as epoch ms. Throws RangeError for an unknown zone. */
export function zonedTimeToEpoch(local: { year: number; month: number; day: number; hour: number; minute: number; second: number }, timeZone: string): number {
  const asUtc = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second);
  const offsetAt = (epoch: number) => {
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
        .formatToParts(new Date(epoch))
        .map((p) => [p.type, p.value]),
    );
    const wall = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
    return wall - Math.floor(epoch / 1000) * 1000;
  };
  const first = offsetAt(asUtc);
  const candidate = asUtc - first;
  const second = offsetAt(candidate);
  return second === first ? candidate : asUtc - second;
}

/** Parses `at(yyyy-mm-ddThh:mm:ss)` in `timeZone` (default UTC). */
export function parseAtExpression(expression: string, timeZone = 'UTC'): number {
  const match = /^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$/.exec(expression.trim());
  if (!match) {
    if (/^(rate|cron)\(/.test(expression.trim())) throw new AwsError('ValidationException', `The sandbox Scheduler runs one-time at() schedules only; ${expression} is a recurring expression.`, 400);
    throw new AwsError('ValidationException', `Invalid Schedule Expression ${expression}: expected at(yyyy-mm-ddThh:mm:ss).`, 400);
  }
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  const probe = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    throw new AwsError('ValidationException', `Invalid Schedule Expression ${expression}: not a valid date and time.`, 400);
  }
  try {
    return zonedTimeToEpoch({ year, month, day, hour, minute, second }, timeZone);
  } catch {
    throw new AwsError('ValidationException', `Invalid ScheduleExpressionTimezone ${timeZone}.`, 400);
  }
}

type InvocationListener = (record: ScheduleInvocationRecord) => void;

export class SchedulerStandIn implements RestJsonService {
  readonly name = 'scheduler';
  readonly faults = new FaultQueue();
  private readonly clock: SandboxClock;
  private readonly random: () => number;
  private readonly region: string;
  private readonly accountId: string;
  private readonly retryDelayMs: (attempt: number) => number;
  private readonly log: (message: string) => void;
  private readonly schedules = new Map<string, ScheduleRecord>();
  private readonly timers = new Map<string, Timer>();
  private readonly targets = new Map<string, ScheduleTargetHandler>();
  private readonly deadLetters: DeadLetterRecord[] = [];
  private readonly invocationLog: ScheduleInvocationRecord[] = [];
  private readonly listeners = new Set<InvocationListener>();
  private readonly running = new Set<Promise<void>>();
  private readonly doc: JsonDocument<z.infer<typeof persistedSchema>>;
  private stopped = false;

  constructor(private readonly options: SchedulerOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '111111111111';
    this.retryDelayMs = options.retryDelayMs ?? defaultRetryDelayMs;
    this.log = options.log ?? ((m) => console.error(m));
    const { doc, loaded } = JsonDocument.open(options.dataFile, persistedSchema, () => this.snapshot());
    this.doc = doc;
    if (loaded) {
      for (const s of loaded.schedules) {
        const definition = scheduleInputSchema.safeParse(s.definition);
        if (!definition.success) throw new Error(`Stored schedule ${s.groupName}/${s.name} is invalid: ${definition.error.issues[0]?.message}. Run \`npm run sandbox:reset\`.`);
        this.schedules.set(key(s.groupName, s.name), { ...s, definition: definition.data });
      }
      this.deadLetters.push(...(loaded.deadLetters as unknown as DeadLetterRecord[]));
    }
  }

  /**
   * Arms the timers of stored schedules (overdue ones fire at once). Call after the targets are
   * registered, so that nothing fires into the void.
   */
  start(): void {
    for (const s of this.schedules.values()) this.arm(s);
  }

  /** Registers what runs when a schedule whose Target.Arn is `targetArn` fires. */
  registerTarget(targetArn: string, handler: ScheduleTargetHandler): void {
    this.targets.set(targetArn, handler);
  }

  onInvocation(listener: InvocationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  faultError(kind: Exclude<FaultKind, 'fail'>, operation: string, message?: string): AwsError {
    if (kind === 'throttle') return new AwsError('ThrottlingException', message ?? 'Rate exceeded', 429);
    if (kind === 'conflict') return new AwsError('ConflictException', message ?? `${operation} conflicts with a concurrent update.`, 409);
    return new AwsError('InternalServerException', message ?? 'Unexpected error encountered while processing the request.', 500);
  }

  route(req: RestRequest): RestRoute | undefined {
    const [head, name, ...rest] = req.segments;
    if (head !== 'schedules' || rest.length > 0) return undefined;
    if (name === undefined || name === '') {
      if (req.method === 'GET') return { operation: 'ListSchedules', run: async () => this.listSchedules(req.query) };
      return undefined;
    }
    switch (req.method) {
      case 'POST':
        return { operation: 'CreateSchedule', run: async () => this.createSchedule(name, req.body) };
      case 'PUT':
        return { operation: 'UpdateSchedule', run: async () => this.updateSchedule(name, req.body) };
      case 'GET':
        return { operation: 'GetSchedule', run: async () => this.getSchedule(name, req.query.get('groupName') ?? undefined) };
      case 'DELETE':
        return {
          operation: 'DeleteSchedule',
          run: async () => {
            const clientToken = req.query.get('clientToken');
            if (clientToken !== null) parseInput(z.object({ ClientToken: clientTokenSchema }), { ClientToken: clientToken });
            return this.deleteSchedule(name, req.query.get('groupName') ?? undefined);
          },
        };
      default:
        return undefined;
    }
  }

  // ── operations ───────────────────────────────────────────────────────────────────

  createSchedule(name: string, body: unknown): { ScheduleArn: string } {
    parseInput(nameSchema, name);
    const input = parseInput(scheduleInputSchema, body);
    const groupName = this.group(input.GroupName);
    const k = key(groupName, name);
    const existing = this.schedules.get(k);
    if (existing) {
      // A retried CreateSchedule (same ClientToken) is answered like the first one.
      if (input.ClientToken && existing.clientToken === input.ClientToken) return { ScheduleArn: this.arn(groupName, name) };
      throw new AwsError('ConflictException', `Schedule ${name} already exists.`, 409);
    }
    const dueAt = this.dueAt(input);
    const now = this.clock.now();
    const record: ScheduleRecord = { name, groupName, definition: input, clientToken: input.ClientToken, creationDate: now, lastModificationDate: now, dueAt, attempts: 0 };
    this.schedules.set(k, record);
    this.arm(record);
    this.doc.save();
    return { ScheduleArn: this.arn(groupName, name) };
  }

  updateSchedule(name: string, body: unknown): { ScheduleArn: string } {
    parseInput(nameSchema, name);
    const input = parseInput(scheduleInputSchema, body);
    const groupName = this.group(input.GroupName);
    const record = this.schedules.get(key(groupName, name));
    if (!record) throw new AwsError('ResourceNotFoundException', `Schedule ${name} does not exist.`, 404);
    // UpdateSchedule replaces the whole definition: members left out return to their defaults.
    record.definition = input;
    record.dueAt = this.dueAt(input);
    record.lastModificationDate = this.clock.now();
    record.attempts = 0;
    delete record.firstAttemptAt;
    delete record.nextAttemptAt;
    delete record.completedAt;
    this.arm(record);
    this.doc.save();
    return { ScheduleArn: this.arn(groupName, name) };
  }

  deleteSchedule(name: string, groupNameInput: string | undefined): Record<string, never> {
    parseInput(nameSchema, name);
    const groupName = this.group(groupNameInput);
    const k = key(groupName, name);
    if (!this.schedules.has(k)) throw new AwsError('ResourceNotFoundException', `Schedule ${name} does not exist.`, 404);
    this.remove(k);
    return {};
  }

  getSchedule(name: string, groupNameInput: string | undefined) {
    parseInput(nameSchema, name);
    const groupName = this.group(groupNameInput);
    const record = this.schedules.get(key(groupName, name));
    if (!record) throw new AwsError('ResourceNotFoundException', `Schedule ${name} does not exist.`, 404);
    const d = record.definition;
    return compact({
      Arn: this.arn(groupName, name),
      Name: name,
      GroupName: groupName,
      CreationDate: epochSeconds(record.creationDate),
      LastModificationDate: epochSeconds(record.lastModificationDate),
      Description: d.Description,
      StartDate: d.StartDate,
      EndDate: d.EndDate,
      FlexibleTimeWindow: d.FlexibleTimeWindow,
      KmsKeyArn: d.KmsKeyArn,
      ScheduleExpression: d.ScheduleExpression,
      ScheduleExpressionTimezone: d.ScheduleExpressionTimezone,
      State: d.State ?? 'ENABLED',
      ActionAfterCompletion: d.ActionAfterCompletion ?? 'NONE',
      Target: d.Target,
    });
  }

  listSchedules(query: URLSearchParams) {
    const maxResults = query.get('MaxResults');
    const req = parseInput(
      z.object({ GroupName: nameSchema.optional(), NamePrefix: z.string().min(1).max(64).optional(), State: z.enum(['ENABLED', 'DISABLED']).optional(), MaxResults: z.number().int().min(1).max(100).optional(), NextToken: z.string().min(1).max(2048).optional() }),
      compact({ GroupName: query.get('ScheduleGroup') ?? undefined, NamePrefix: query.get('NamePrefix') ?? undefined, State: query.get('State') ?? undefined, MaxResults: maxResults === null ? undefined : Number(maxResults), NextToken: query.get('NextToken') ?? undefined }),
    );
    const items = [...this.schedules.values()]
      .filter((s) => (!req.GroupName || s.groupName === req.GroupName) && (!req.NamePrefix || s.name.startsWith(req.NamePrefix)) && (!req.State || (s.definition.State ?? 'ENABLED') === req.State))
      .sort((a, b) => key(a.groupName, a.name).localeCompare(key(b.groupName, b.name)))
      .map((s) => ({
        Arn: this.arn(s.groupName, s.name),
        Name: s.name,
        GroupName: s.groupName,
        State: s.definition.State ?? 'ENABLED',
        CreationDate: epochSeconds(s.creationDate),
        LastModificationDate: epochSeconds(s.lastModificationDate),
        Target: { Arn: s.definition.Target.Arn },
      }));
    const { page, nextToken } = paginate(items, req.NextToken, req.MaxResults ?? 100);
    return compact({ Schedules: page, NextToken: nextToken });
  }

  // ── inspection (tests, benchmarks, the e2e suite) ─────────────────────────────────────

  list(): Array<{ name: string; groupName: string; arn: string; dueAt: string; state: string; attempts: number; completedAt?: string; targetArn: string; input?: string }> {
    return [...this.schedules.values()].map((s) =>
      compact({
        name: s.name,
        groupName: s.groupName,
        arn: this.arn(s.groupName, s.name),
        dueAt: new Date(s.dueAt).toISOString(),
        state: s.definition.State ?? 'ENABLED',
        attempts: s.attempts,
        completedAt: s.completedAt === undefined ? undefined : new Date(s.completedAt).toISOString(),
        targetArn: s.definition.Target.Arn,
        input: s.definition.Target.Input,
      }),
    );
  }

  deadLetterQueue(): DeadLetterRecord[] {
    return this.deadLetters.map((d) => ({ ...d }));
  }

  invocations(): ScheduleInvocationRecord[] {
    return this.invocationLog.map((i) => ({ ...i }));
  }

  /** Fires a schedule now, as if it were due (the e2e suite uses it to see expiry without waiting). */
  fireNow(name: string, groupName = 'default'): void {
    const record = this.schedules.get(key(groupName, name));
    if (!record) throw new AwsError('ResourceNotFoundException', `Schedule ${name} does not exist.`, 404);
    record.dueAt = Math.min(record.dueAt, this.clock.now());
    record.nextAttemptAt = this.clock.now();
    delete record.completedAt;
    this.arm(record);
  }

  /** Resolves when every invocation started so far has finished (tests). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
    await this.idle();
    this.doc.save();
    await this.doc.flush();
  }

  // ── internals ─────────────────────────────────────────────────────────────────────

  private group(groupName: string | undefined): string {
    if (groupName !== undefined) parseInput(z.object({ GroupName: nameSchema }), { GroupName: groupName });
    const g = groupName ?? 'default';
    // Only `default` exists unless created ("Managing schedule groups", Scheduler user guide; CreateSchedule: ResourceNotFoundException).
    if (g !== 'default' && !(this.options.scheduleGroups ?? []).includes(g)) throw new AwsError('ResourceNotFoundException', `Schedule group ${g} does not exist.`, 404);
    return g;
  }

  private arn(groupName: string, name: string): string {
    return `arn:aws:scheduler:${this.region}:${this.accountId}:schedule/${groupName}/${name}`;
  }

  private dueAt(input: ScheduleInput): number {
    const at = parseAtExpression(input.ScheduleExpression, input.ScheduleExpressionTimezone ?? 'UTC');
    if (input.FlexibleTimeWindow.Mode === 'FLEXIBLE') {
      if (input.FlexibleTimeWindow.MaximumWindowInMinutes === undefined) throw new AwsError('ValidationException', 'MaximumWindowInMinutes is required when FlexibleTimeWindow Mode is FLEXIBLE.', 400);
      return at + Math.floor(this.random() * input.FlexibleTimeWindow.MaximumWindowInMinutes * 60_000);
    }
    if (input.FlexibleTimeWindow.MaximumWindowInMinutes !== undefined) throw new AwsError('ValidationException', 'MaximumWindowInMinutes must not be set when FlexibleTimeWindow Mode is OFF.', 400);
    return at;
  }

  private arm(record: ScheduleRecord): void {
    const k = key(record.groupName, record.name);
    this.timers.get(k)?.cancel();
    this.timers.delete(k);
    if (this.stopped || record.completedAt !== undefined || (record.definition.State ?? 'ENABLED') === 'DISABLED') return;
    const due = record.nextAttemptAt ?? record.dueAt;
    const timer = this.clock.setTimer(due - this.clock.now(), () => {
      if (this.timers.get(k) !== timer) return;
      this.timers.delete(k);
      const run = this.fire(record).finally(() => this.running.delete(run));
      this.running.add(run);
    });
    this.timers.set(k, timer);
  }

  private async fire(record: ScheduleRecord): Promise<void> {
    const k = key(record.groupName, record.name);
    const definition = record.definition;
    const now = this.clock.now();
    record.firstAttemptAt ??= now;
    const attempt = record.attempts;
    const context: ScheduleInvocationContext = {
      scheduleArn: this.arn(record.groupName, record.name),
      name: record.name,
      groupName: record.groupName,
      targetArn: definition.Target.Arn,
      attempt,
      scheduledTime: new Date(record.dueAt).toISOString(),
    };
    let error: string | undefined;
    const startedAt = new Date(now).toISOString();
    const handler = this.targets.get(definition.Target.Arn);
    try {
      if (!handler) throw new Error(`no target is registered for ${definition.Target.Arn}`);
      await handler(parseTargetInput(definition.Target.Input), context);
    } catch (e) {
      error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
    const entry: ScheduleInvocationRecord = { ...context, startedAt, at: new Date(this.clock.now()).toISOString(), ok: error === undefined, ...(error ? { error } : {}) };
    this.invocationLog.push(entry);
    if (this.invocationLog.length > MAX_INVOCATION_LOG) this.invocationLog.shift();
    for (const l of this.listeners) {
      try {
        l(entry);
      } catch (e) {
        this.log(`[sandbox] scheduler listener failed: ${String(e)}`);
      }
    }
    // The schedule was deleted or replaced while its target ran: that change wins.
    if (this.schedules.get(k) !== record || record.definition !== definition) return;
    record.attempts = attempt + 1;
    if (error === undefined) {
      this.finish(record);
      return;
    }
    this.log(`[sandbox] schedule ${record.groupName}/${record.name}: target ${definition.Target.Arn} failed (attempt ${attempt + 1}): ${error}`);
    const maxRetries = definition.Target.RetryPolicy?.MaximumRetryAttempts ?? DEFAULT_MAX_RETRIES;
    const maxAgeMs = (definition.Target.RetryPolicy?.MaximumEventAgeInSeconds ?? DEFAULT_MAX_EVENT_AGE_S) * 1000;
    const nextAt = this.clock.now() + this.retryDelayMs(record.attempts);
    if (record.attempts > maxRetries || nextAt - record.firstAttemptAt > maxAgeMs) {
      this.deadLetter(record, error);
      this.finish(record);
      return;
    }
    record.nextAttemptAt = nextAt;
    this.doc.save();
    this.arm(record);
  }

  private finish(record: ScheduleRecord): void {
    const k = key(record.groupName, record.name);
    if ((record.definition.ActionAfterCompletion ?? 'NONE') === 'DELETE') {
      this.remove(k);
      return;
    }
    record.completedAt = this.clock.now();
    delete record.nextAttemptAt;
    this.doc.save();
  }

  private deadLetter(record: ScheduleRecord, error: string): void {
    this.deadLetters.push(
      compact({
        scheduleArn: this.arn(record.groupName, record.name),
        name: record.name,
        groupName: record.groupName,
        targetArn: record.definition.Target.Arn,
        deadLetterArn: record.definition.Target.DeadLetterConfig?.Arn,
        input: record.definition.Target.Input,
        error,
        attempts: record.attempts,
        scheduledTime: new Date(record.dueAt).toISOString(),
        at: new Date(this.clock.now()).toISOString(),
      }),
    );
    if (this.deadLetters.length > MAX_DEAD_LETTERS) this.deadLetters.shift();
    this.log(`[sandbox] schedule ${record.groupName}/${record.name} gave up after ${record.attempts} attempt(s); ${record.definition.Target.DeadLetterConfig?.Arn ? `sent to ${record.definition.Target.DeadLetterConfig.Arn}` : 'no dead-letter queue: dropped'}`);
  }

  private remove(k: string): void {
    this.timers.get(k)?.cancel();
    this.timers.delete(k);
    this.schedules.delete(k);
    this.doc.save();
  }

  private snapshot(): z.infer<typeof persistedSchema> {
    return { version: 1, schedules: [...this.schedules.values()], deadLetters: this.deadLetters as unknown as Array<Record<string, unknown>> };
  }
}

function key(groupName: string, name: string): string {
  return `${groupName}/${name}`;
}

function parseTargetInput(input: string | undefined): unknown {
  if (input === undefined) return {};
  try {
    return JSON.parse(input);
  } catch {
    return input;
  }
}

/**
 * The sandbox's DynamoDB stand-ins: the request store, the grant ledger and the audit log, behind
 * the same core ports as the DynamoDB adapters, kept in the data folder so that state survives a
 * restart:
 *   requests.json   every request (compare-and-swap on `version`, unique client request ids)
 *   ledger.json     the reference-counted grant ledger (compare-and-swap on `version`)
 *   findings.json   the findings the product imported or must import (compare-and-swap on `version`)
 *   audit.jsonl     the audit log, one event per line (`npm run kpi -- --file .sandbox-data/audit.jsonl`)
 * The compare-and-swap checks run in memory (the sandbox is one process); the JSON files are
 * written atomically and coalesced (sandbox/aws/persistence.ts), and `flush()` waits for them.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { MemoryFindingsState, MemoryGrantLedger, MemoryRequestStore } from '../../core/memory';
import type { AuditEvent, LedgerEntry, StoredRequest, TrackedFinding } from '../../core/model';
import type { AuditReader, AuditSink } from '../../core/ports';
import { CorruptDataError, JsonDocument } from '../aws/persistence';

// The stores trust their own files: the shape is checked loosely (objects with the key fields),
// the content is what the core wrote.
const requestsFileSchema = z.object({
  version: z.literal(1),
  requests: z.array(z.looseObject({ id: z.string(), version: z.number(), requester: z.looseObject({ userId: z.string() }), clientRequestId: z.string() })),
});
const ledgerFileSchema = z.object({
  version: z.literal(1),
  entries: z.array(z.looseObject({ key: z.looseObject({ accountId: z.string(), permissionSetArn: z.string(), principalId: z.string() }), version: z.number() })),
});

export class FileRequestStore extends MemoryRequestStore {
  private readonly doc: JsonDocument<z.infer<typeof requestsFileSchema>>;

  constructor(file: string | undefined) {
    super();
    const { doc, loaded } = JsonDocument.open(file, requestsFileSchema, () => ({ version: 1 as const, requests: [...this.items.values()] as never }));
    this.doc = doc;
    for (const r of loaded?.requests ?? []) this.restore(r as unknown as StoredRequest);
    this.writes = 0;
  }

  override async create(request: StoredRequest): Promise<void> {
    await super.create(request);
    this.doc.save();
  }

  override async update(next: StoredRequest, expectedVersion: number): Promise<void> {
    await super.update(next, expectedVersion);
    this.doc.save();
  }

  override async clearAuditOutbox(id: string, version: number): Promise<void> {
    await super.clearAuditOutbox(id, version);
    this.doc.save();
  }

  override async clearNoticeOutbox(id: string, version: number): Promise<void> {
    await super.clearNoticeOutbox(id, version);
    this.doc.save();
  }

  flush(): Promise<void> {
    return this.doc.flush();
  }
}

export class FileGrantLedger extends MemoryGrantLedger {
  private readonly doc: JsonDocument<z.infer<typeof ledgerFileSchema>>;

  constructor(file: string | undefined) {
    super();
    const { doc, loaded } = JsonDocument.open(file, ledgerFileSchema, () => ({ version: 1 as const, entries: [...this.entries.values()] as never }));
    this.doc = doc;
    for (const e of (loaded?.entries ?? []) as unknown as LedgerEntry[]) void super.put(e, undefined);
  }

  override async put(entry: LedgerEntry, expectedVersion: number | undefined): Promise<void> {
    await super.put(entry, expectedVersion);
    this.doc.save();
  }

  flush(): Promise<void> {
    return this.doc.flush();
  }
}

const findingsFileSchema = z.object({
  version: z.literal(1),
  findings: z.array(z.looseObject({ id: z.string(), version: z.number(), fingerprint: z.string(), imported: z.boolean(), finding: z.looseObject({ id: z.string() }) })),
});

export class FileFindingsState extends MemoryFindingsState {
  private readonly doc: JsonDocument<z.infer<typeof findingsFileSchema>>;

  constructor(file: string | undefined) {
    super();
    const { doc, loaded } = JsonDocument.open(file, findingsFileSchema, () => ({ version: 1 as const, findings: [...this.items.values()] as never }));
    this.doc = doc;
    for (const t of (loaded?.findings ?? []) as unknown as TrackedFinding[]) this.items.set(t.id, t);
  }

  override async put(next: TrackedFinding, expectedVersion: number | undefined): Promise<void> {
    await super.put(next, expectedVersion);
    this.doc.save();
  }

  flush(): Promise<void> {
    return this.doc.flush();
  }
}

/**
 * Append-only audit log as JSON lines. Replays (same eventId) are ignored, as the audit table's
 * conditional put does; each append is one synchronous write, so an event is on disk before the
 * service that emitted it goes on.
 */
export class JsonlAuditSink implements AuditSink, AuditReader {
  private readonly ids = new Set<string>();
  readonly events: AuditEvent[] = [];

  constructor(private readonly file: string | undefined) {
    if (!file || !existsSync(file)) return;
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (line.trim() === '') return;
        let event: AuditEvent;
        try {
          event = JSON.parse(line) as AuditEvent;
        } catch (e) {
          throw new CorruptDataError(file, `line ${i + 1}: ${(e as Error).message}`);
        }
        this.ids.add(event.eventId);
        this.events.push(event);
      });
  }

  async append(events: readonly AuditEvent[]): Promise<void> {
    const fresh = events.filter((e) => !this.ids.has(e.eventId));
    if (fresh.length === 0) return;
    if (this.file) {
      mkdirSync(dirname(this.file), { recursive: true });
      appendFileSync(this.file, fresh.map((e) => `${JSON.stringify(e)}\n`).join(''));
    }
    for (const e of fresh) {
      this.ids.add(e.eventId);
      this.events.push(structuredClone(e));
    }
  }

  forRequest(requestId: string): AuditEvent[] {
    return this.events.filter((e) => e.requestId === requestId);
  }

  /** The KPIs' read of the trail (what the audit table's Scan gives the functions in AWS). */
  async eventsSince(sinceIso: string): Promise<AuditEvent[]> {
    // As the audit table's Scan filter `at >= :since` compares: strings, by their UTF-8 bytes (Amazon
    // DynamoDB Developer Guide, "Comparison operator and function reference"), not as times.
    return this.events.filter((e) => Buffer.compare(Buffer.from(e.at), Buffer.from(sinceIso)) >= 0).map((e) => structuredClone(e));
  }
}

export interface SandboxStores {
  requests: FileRequestStore;
  ledger: FileGrantLedger;
  findingsState: FileFindingsState;
  audit: JsonlAuditSink;
  flush(): Promise<void>;
}

export const STORE_FILES = { requests: 'requests.json', ledger: 'ledger.json', findings: 'findings.json', audit: 'audit.jsonl' } as const;

/** Opens the three stores in `dataDir` (`undefined`: memory only). */
export function openSandboxStores(dataDir: string | undefined): SandboxStores {
  const file = (name: string) => (dataDir ? join(dataDir, name) : undefined);
  const requests = new FileRequestStore(file(STORE_FILES.requests));
  const ledger = new FileGrantLedger(file(STORE_FILES.ledger));
  const findingsState = new FileFindingsState(file(STORE_FILES.findings));
  const audit = new JsonlAuditSink(file(STORE_FILES.audit));
  return { requests, ledger, findingsState, audit, flush: async () => void (await Promise.all([requests.flush(), ledger.flush(), findingsState.flush()])) };
}

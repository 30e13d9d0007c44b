/**
 * `npm run kpi -- --file .sandbox-data/audit.jsonl`
 * `npm run kpi -- --stage prod --table <audit table name> [--region eu-west-1]`
 *
 * Reads the audit trail (JSON lines from the sandbox, or the deployed append-only audit table)
 * and prints the KPI report (scripts/kpi-report.ts). Options: --since / --until (ISO 8601,
 * filter on submission time), --top N, --json (machine-readable report).
 * Exit code: 0 on success, 2 on bad usage or unreadable input, 3 when the revocation lag SLO fails
 * and --fail-on-slo is given (for a scheduled CI job).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditEvent } from '../core/model';
import { computeKpis, formatReport } from './kpi-report';

const USAGE = `Usage:
  npm run kpi -- --file <audit.jsonl>                 audit events, one JSON object per line (sandbox: .sandbox-data/audit.jsonl)
  npm run kpi -- --stage <stage> --table <name>       the deployed audit table (DynamoDB Scan; needs dynamodb:Scan and kms:Decrypt)
Options: --region <r>  --since <ISO>  --until <ISO>  --top <N>  --json  --fail-on-slo
Find the table name: aws cloudformation describe-stack-resources --stack-name JitAccess-<stage> \\
  --query "StackResources[?starts_with(LogicalResourceId, 'DataAuditTable')].PhysicalResourceId" --output text`;

export class UsageError extends Error {}

export interface ParsedEvents {
  events: AuditEvent[];
  /** 1-based line numbers (file) or item indexes (table) that are not audit events. */
  rejected: number[];
}

/** Accepts an AuditEvent, or an item that wraps one (`detail`/`event`, object or JSON string). */
export function toAuditEvent(value: unknown): AuditEvent | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.eventId === 'string' && typeof v.requestId === 'string' && typeof v.at === 'string' && typeof v.action === 'string') {
    return v as unknown as AuditEvent;
  }
  for (const key of ['detail', 'event']) {
    const inner = v[key];
    if (typeof inner === 'string') {
      try {
        const parsed = toAuditEvent(JSON.parse(inner));
        if (parsed) return parsed;
      } catch {
        // not JSON: try the next wrapper
      }
    } else if (inner && typeof inner === 'object') {
      const parsed = toAuditEvent(inner);
      if (parsed) return parsed;
    }
  }
  return undefined;
}

export function parseJsonLines(text: string): ParsedEvents {
  const events: AuditEvent[] = [];
  const rejected: number[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      rejected.push(i + 1);
      return;
    }
    const e = toAuditEvent(value);
    if (e) events.push(e);
    else rejected.push(i + 1);
  });
  return { events, rejected };
}

export async function scanAuditTable(client: DynamoDBDocumentClient, tableName: string): Promise<ParsedEvents> {
  const events: AuditEvent[] = [];
  const rejected: number[] = [];
  let index = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey }));
    for (const item of page.Items ?? []) {
      index += 1;
      const e = toAuditEvent(item);
      if (e) events.push(e);
      else rejected.push(index);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return { events, rejected };
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      file: { type: 'string' },
      stage: { type: 'string' },
      table: { type: 'string' },
      region: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      top: { type: 'string' },
      json: { type: 'boolean', default: false },
      'fail-on-slo': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  for (const key of ['since', 'until'] as const) {
    const v = values[key];
    if (v !== undefined && !Number.isFinite(Date.parse(v))) throw new UsageError(`--${key} must be an ISO 8601 date or time (got ${JSON.stringify(v)})`);
  }
  const top = values.top === undefined ? 5 : Number(values.top);
  if (!Number.isInteger(top) || top < 0 || top > 100) throw new UsageError('--top must be an integer from 0 to 100');

  let parsed: ParsedEvents;
  let source: string;
  if (values.file && (values.table || values.stage)) throw new UsageError('Give either --file or --stage/--table, not both.');
  if (values.file) {
    let text: string;
    try {
      text = readFileSync(values.file, 'utf8');
    } catch (e) {
      throw new UsageError(`Cannot read ${values.file}: ${(e as Error).message}. The sandbox writes its audit log to .sandbox-data/audit.jsonl once a request was made.`);
    }
    parsed = parseJsonLines(text);
    source = values.file;
  } else if (values.table) {
    const client = DynamoDBDocumentClient.from(new DynamoDBClient(values.region ? { region: values.region } : {}));
    parsed = await scanAuditTable(client, values.table);
    source = `${values.stage ? `${values.stage}: ` : ''}${values.table}`;
  } else if (values.stage) {
    throw new UsageError(`--stage ${values.stage} needs --table <audit table name> (the table name is generated by CloudFormation).`);
  } else {
    throw new UsageError('Give --file <audit.jsonl> or --stage <stage> --table <name>.');
  }

  const report = computeKpis(parsed.events, { since: values.since, until: values.until, top });
  if (values.json) console.log(JSON.stringify({ source, rejected: parsed.rejected.length, ...report }, null, 2));
  else {
    process.stdout.write(formatReport(report, `Teams JIT Access KPIs (${source})`));
    if (parsed.rejected.length > 0) {
      const where = parsed.rejected.slice(0, 10).join(', ');
      console.error(`warning: ${parsed.rejected.length} records are not audit events and were skipped (${values.file ? 'lines' : 'items'} ${where}${parsed.rejected.length > 10 ? ', ...' : ''})`);
    }
  }
  return values['fail-on-slo'] && report.revocationLag.pass === false ? 3 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
        console.error(`kpi: ${(e as Error).message}\n\n${USAGE}`);
        process.exit(2);
      }
      console.error(`kpi: ${(e as Error).name}: ${(e as Error).message}`);
      process.exit(1);
    },
  );
}

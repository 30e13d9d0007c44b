/**
 * `npm run sandbox:finding`: imports a sample HIGH Security Hub finding into the running sandbox
 * with the real Security Hub client (BatchImportFindings), which emits the
 * `Security Hub Findings - Imported` event that the findings handler turns into a channel card.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BatchImportFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { z } from 'zod';
import { SANDBOX_CREDENTIALS } from './aws';
import { DEFAULT_DATA_DIR } from './aws/persistence';
import { sampleHighFinding } from './aws/security-hub';
import { DEMO_PRODUCT_ACCOUNT_ID } from './seed';

const endpointsSchema = z.object({ endpoint: z.string().url(), region: z.string(), accountId: z.string() });

export class SandboxNotRunningError extends Error {
  constructor(detail: string) {
    super(`The sandbox is not running (${detail}). Start it with \`npm start\`, then run this again.`);
    this.name = 'SandboxNotRunningError';
  }
}

/** Where the running sandbox's AWS stand-ins listen (written by startAwsStandIns into the data folder). */
export function readSandboxEndpoints(dataDir = process.env.JIT_SANDBOX_DATA_DIR ?? DEFAULT_DATA_DIR): z.infer<typeof endpointsSchema> {
  const file = join(dataDir, 'endpoints.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new SandboxNotRunningError(`${file} does not exist`);
  }
  const parsed = endpointsSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new SandboxNotRunningError(`${file} is unreadable`);
  return parsed.data;
}

/**
 * The sample is imported as the sandbox's own account: with the default product ARN Security Hub
 * accepts only findings whose AwsAccountId is the calling account (sandbox/aws/security-hub.ts).
 */
export async function injectSampleFinding(target: { endpoint: string; region: string; accountId?: string }, accountId: string = target.accountId ?? DEMO_PRODUCT_ACCOUNT_ID, now = Date.now()) {
  const client = new SecurityHubClient({ endpoint: target.endpoint, region: target.region, credentials: { ...SANDBOX_CREDENTIALS }, maxAttempts: 2 });
  const finding = sampleHighFinding({ accountId, region: target.region, now });
  try {
    const result = await client.send(new BatchImportFindingsCommand({ Findings: [finding as never] }));
    if (result.FailedCount !== 0) throw new Error(`Security Hub refused the sample finding: ${JSON.stringify(result.FailedFindings)}`);
    return finding;
  } catch (e) {
    const code = (e as { code?: string; cause?: { code?: string } }).code ?? (e as { cause?: { code?: string } }).cause?.code;
    if (code === 'ECONNREFUSED') throw new SandboxNotRunningError(`nothing answers on ${target.endpoint}`);
    throw e;
  } finally {
    client.destroy();
  }
}

async function main(): Promise<void> {
  const target = readSandboxEndpoints();
  const finding = await injectSampleFinding(target);
  console.log(`Imported a sample ${finding.Severity?.Label} finding into the sandbox's Security Hub:
  ${finding.Title}
  account ${finding.AwsAccountId}, id ${finding.Id}
It reaches the on-call channel through the findings handler (Security Hub Findings - Imported).`);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exitCode = 1;
  });
}

/**
 * The secret scan CI runs on every change: no keys, and no real account, tenant or email
 * identifiers in anything committed. Placeholders are the documented ones (README, docs/SECURITY.md):
 * repeated-digit account ids, example.com (and Microsoft's contoso/fabrikam) addresses, GUIDs made
 * of zeros and a few digits.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const SKIP = /(^|\/)package-lock\.json$|\.(png|jpg|jpeg|gif|ico|zip)$/;

function trackedFiles(): string[] {
  return execFileSync('git', ['ls-files', '-z'], { encoding: 'utf8' })
    .split('\0')
    .filter((f) => f && !SKIP.test(f));
}

interface Finding {
  file: string;
  line: number;
  text: string;
}

function scan(pattern: RegExp, isAllowed: (match: string) => boolean): Finding[] {
  const out: Finding[] = [];
  for (const file of trackedFiles()) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // deleted in the work tree
    }
    const lines = text.split('\n');
    lines.forEach((l, i) => {
      for (const m of l.matchAll(pattern)) if (!isAllowed(m[0])) out.push({ file, line: i + 1, text: m[0] });
    });
  }
  return out;
}

const report = (f: Finding[]) => f.map((x) => `${x.file}:${x.line}: ${x.text}`).join('\n');
const distinct = (s: string) => new Set(s.toLowerCase().replace(/[^0-9a-z]/g, '')).size;

describe('repository hygiene: secret scan', function () {
  this.timeout(60_000);

  it('has no AWS access keys (other than the sandbox’s documented fake one)', () => {
    assert.equal(report(scan(/\b(AKIA|ASIA)[0-9A-Z]{16}\b/g, (m) => m.startsWith('AKIASANDBOXFAKE'))), '');
  });

  it('has no private key material', () => {
    assert.equal(report(scan(/-----BEGIN [A-Z ]*PRIVATE KEY-----[A-Za-z0-9+/=\s]{64,}/g, () => false)), '');
  });

  it('has no real-looking AWS account ids: only repeated-digit placeholders', () => {
    // Random 12-digit ids have many distinct digits; placeholders (111111111111, 000000000101, 123456789012) few or a known sequence.
    assert.equal(report(scan(/\b\d{12}\b/g, (m) => distinct(m) <= 4 || m === '123456789012')), '');
  });

  it('has no real email addresses: only example.com, contoso, fabrikam and Teams thread ids', () => {
    const allowed = /@([a-z0-9-]+\.)*(example\.(com|org|net)|contoso\.com|fabrikam\.com|thread\.(tacv2|skype))$/i;
    assert.equal(report(scan(/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b/g, (m) => allowed.test(m))), '');
  });

  it('has no real-looking tenant or object ids: GUIDs are zero-padded placeholders', () => {
    // Except Microsoft's own first-party Teams client app ids, the same in every tenant, which the
    // Entra setup for SSO must name verbatim ("Configure bot app in Microsoft Entra ID").
    const microsoftPublicAppIds = new Set(['1fec8e78-bce4-4aaf-ab1b-5451cc387264', '5e3ce6c0-2b1f-4285-8d4b-75ee78787346']);
    assert.equal(report(scan(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, (m) => distinct(m) <= 10 || microsoftPublicAppIds.has(m.toLowerCase()))), '');
  });

  it('commits no build output, dependencies or local state', () => {
    const bad = execFileSync('git', ['ls-files'], { encoding: 'utf8' })
      .split('\n')
      .filter((f) => /^(node_modules|cdk\.out|\.sandbox-data|test-artifacts|manifest\/build)\//.test(f) || /(^|\/)\.env$/.test(f));
    assert.deepEqual(bad, []);
  });
});

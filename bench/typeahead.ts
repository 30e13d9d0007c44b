/**
 * Account typeahead over 10,000 accounts: what the bridge does for one keystroke of the account
 * search (core/policy/evaluate.ts eligibilitySearchIndex(policy, groups).search(q)). The index is
 * built once per policy and group set (memoized), so the steady-state cost of a keystroke is one
 * search; the first query, which builds the index, is reported separately.
 */
import { eligibilitySearchIndex } from '../core/policy/evaluate';
import type { AccountEntry, Policy, PolicyRule } from '../core/policy/types';
import { percentile, round } from './lib/stats';

const WORDS = ['prod', 'staging', 'dev', 'sandbox', 'payments', 'analytics', 'core', 'platform', 'data', 'ml', 'edge', 'identity', 'billing', 'search', 'mobile', 'web'];

export function tenThousandAccountPolicy(count = 10_000): Policy {
  const accounts: AccountEntry[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${WORDS[i % 4]}-${WORDS[4 + (i % 12)]}-${WORDS[(i * 7) % 16]}-${String(i).padStart(5, '0')}`;
    accounts.push({ id: String(100_000_000_000 + i * 7919).padStart(12, '0'), name, ouPath: ['r-ab12', `ou-ab12-${String(11_111_111 + (i % 40)).padStart(8, '0')}`] });
  }
  const rule = (id: string, ous: string[], permissionSets: string[], approvalsRequired: number): PolicyRule => ({
    id,
    description: id,
    eligibleGroups: ['Engineers'],
    accounts: { ids: [], ous },
    permissionSets,
    maxDurationSeconds: 4 * 3600,
    defaultDurationSeconds: 3600,
    maxTotalDurationSeconds: 8 * 3600,
    approverGroups: approvalsRequired ? ['AWS-Approvers'] : [],
    approvalsRequired,
    ticket: { required: false },
    breakGlass: { allowed: false, maxDurationSeconds: 0 },
    approvalTimeoutSeconds: 3600,
  });
  return {
    version: 1,
    accounts,
    permissionSets: ['ReadOnly', 'PowerUser', 'Admin'].map((name, i) => ({ name, arn: `arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-${String(i + 1).repeat(16)}` })),
    rules: [rule('readonly-everywhere', ['r-ab12'], ['ReadOnly'], 0), rule('poweruser', ['r-ab12'], ['PowerUser'], 1), rule('admin-some', Array.from({ length: 10 }, (_, i) => `ou-ab12-${11_111_111 + i}`), ['Admin'], 2)],
  };
}

/** What people type: growing prefixes of names, words from the middle, ids, and misses. */
function queries(policy: Policy): string[] {
  const out: string[] = [];
  for (let i = 0; i < 200; i++) {
    const a = policy.accounts[(i * 4999) % policy.accounts.length]!;
    for (let n = 1; n <= Math.min(12, a.name.length); n++) out.push(a.name.slice(0, n));
    out.push(WORDS[i % WORDS.length]!, a.id.slice(0, 4 + (i % 8)), a.id, `zz-nothing-${i}`);
  }
  return out;
}

export interface TypeaheadResult {
  accounts: number;
  queries: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  firstQueryMs: number;
}

export function runTypeahead(): TypeaheadResult {
  const policy = tenThousandAccountPolicy();
  const groups = ['Engineers'];
  const t0 = performance.now();
  eligibilitySearchIndex(policy, groups).search('prod');
  const firstQueryMs = performance.now() - t0;
  const qs = queries(policy);
  // Warm up the JIT like a running bridge would be.
  for (const q of qs.slice(0, 500)) eligibilitySearchIndex(policy, groups).search(q);
  const times: number[] = [];
  for (let round_ = 0; round_ < 2; round_++) {
    for (const q of qs) {
      const t = performance.now();
      const found = eligibilitySearchIndex(policy, groups).search(q);
      times.push(performance.now() - t);
      if (found.length > 50) throw new Error('search returned more than its limit');
    }
  }
  return { accounts: policy.accounts.length, queries: times.length, p50Ms: round(percentile(times, 50), 3), p99Ms: round(percentile(times, 99), 3), maxMs: round(Math.max(...times), 3), firstQueryMs: round(firstQueryMs, 1) };
}

if (require.main === module) console.log(runTypeahead());

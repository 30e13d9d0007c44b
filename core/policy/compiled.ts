/**
 * The policy as the functions receive it: the document that infra read and validated at synth
 * (core/policy/validate.ts `validatePolicy`), in its normalized form (durations in seconds, every
 * default filled in), inlined into each bundle (infra/constructs/jit-function.ts `define`).
 *
 * A function checks only the shape of that form at its cold start. The full validation (the hints,
 * the cross-field rules, the messages that name a line of the file) ran where the file was read, on
 * exactly this policy, and the functions need not carry it: it is 13 KB of the bridge's bundle, whose
 * budget is 150 KB (bench, `bridge_bundle_kb`). A raw policy document where the compiled form is
 * expected (a hand-set JIT_POLICY_JSON) fails here with the reason, instead of being half-trusted.
 */
import '../zod-locale';
import * as z from 'zod/mini';
import type { Policy } from './types';

const text = z.string();
const texts = z.array(text);
const seconds = z.number().check(z.int(), z.minimum(0));
const opt = z.optional;
const tag = z.strictObject({ id: text, name: text });
const stepUp = z.strictObject({ acrs: texts, amr: texts, maxTokenAgeSeconds: seconds });

const ruleSchema = z.strictObject({
  id: text,
  description: text,
  eligibleGroups: texts,
  accounts: z.strictObject({ ids: texts, ous: texts }),
  permissionSets: texts,
  maxDurationSeconds: seconds,
  defaultDurationSeconds: seconds,
  maxTotalDurationSeconds: seconds,
  approverGroups: texts,
  approvalsRequired: seconds,
  ticket: z.strictObject({ required: z.boolean(), pattern: opt(text) }),
  breakGlass: z.strictObject({ allowed: z.boolean(), maxDurationSeconds: seconds }),
  approvalTimeoutSeconds: seconds,
  endSessionsAtExpiry: opt(z.boolean()),
  stepUp: opt(z.strictObject({ approve: opt(stepUp), breakGlass: opt(stepUp) })),
  reminders: opt(
    z.strictObject({
      afterSeconds: seconds,
      everySeconds: opt(seconds),
      tag: opt(tag),
      escalation: opt(z.strictObject({ afterSeconds: seconds, groups: texts, channelId: opt(text), tag: opt(tag) })),
    }),
  ),
});

const compiledPolicySchema = z.strictObject({
  version: z.literal(1),
  accounts: z.array(z.strictObject({ id: text, name: text, ouPath: texts })),
  permissionSets: z.array(z.strictObject({ name: text, arn: text })),
  rules: z.array(ruleSchema),
});

/** The compiled policy, or an Error naming the first paths that do not have its shape. */
export function parseCompiledPolicy(document: unknown): Policy {
  const parsed = compiledPolicySchema.safeParse(document);
  if (!parsed.success) {
    const where = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`is not a compiled policy (infra inlines validatePolicy's output; a policy file must go through it first): ${where.join('; ')}`);
  }
  return parsed.data as Policy;
}

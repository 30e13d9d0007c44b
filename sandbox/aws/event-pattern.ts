/**
 * A small EventBridge pattern matcher for the subset of the syntax the stacks use: the sandbox
 * delivers a Security Hub event to the findings handler only when the stack's rule matches it
 * (sandbox/orchestrator), and tests run sample events through synthesized rules (aws-cdk-lib has
 * no local matcher). Semantics
 * from "Amazon EventBridge event patterns" and "Content filtering in Amazon EventBridge event
 * patterns" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html,
 * .../eb-create-pattern-operators.html):
 * - every field named in the pattern must match (AND); a field missing from the event fails it;
 * - a leaf is an array of alternatives (OR): exact strings/numbers/null, `{prefix}`,
 *   `{"anything-but": [...]}`, `{exists: bool}`, `{"equals-ignore-case"}`;
 * - arrays in the event are flattened: a leaf matches when any of its values matches;
 * - `$or: [pattern, ...]` at any level: at least one of the sub-patterns matches.
 * Anything else throws, so a pattern using syntax this matcher does not know never passes silently.
 */
export type Pattern = Record<string, unknown>;

function valuesAt(nodes: unknown[], key: string): unknown[] {
  const out: unknown[] = [];
  for (const n of nodes) {
    if (n === null || typeof n !== 'object' || Array.isArray(n)) continue;
    if (!(key in (n as Record<string, unknown>))) continue;
    const v = (n as Record<string, unknown>)[key];
    if (Array.isArray(v)) out.push(...v);
    else out.push(v);
  }
  return out;
}

function leafMatches(matcher: unknown, value: unknown): boolean {
  if (matcher === null || typeof matcher !== 'object') return matcher === value;
  const m = matcher as Record<string, unknown>;
  const [op] = Object.keys(m);
  if (Object.keys(m).length !== 1) throw new Error(`unsupported matcher ${JSON.stringify(m)}`);
  switch (op) {
    case 'prefix':
      return typeof value === 'string' && typeof m.prefix === 'string' && value.startsWith(m.prefix);
    case 'equals-ignore-case':
      return typeof value === 'string' && value.toLowerCase() === String(m[op]).toLowerCase();
    case 'anything-but': {
      const not = Array.isArray(m[op]) ? (m[op] as unknown[]) : [m[op]];
      return !not.some((x) => leafMatches(x, value));
    }
    default:
      throw new Error(`unsupported matcher ${JSON.stringify(m)}`);
  }
}

function fieldMatches(spec: unknown, key: string, nodes: unknown[]): boolean {
  const present = nodes.some((n) => n !== null && typeof n === 'object' && !Array.isArray(n) && key in (n as object));
  if (Array.isArray(spec)) {
    const exists = spec.find((m) => m !== null && typeof m === 'object' && 'exists' in (m as object)) as { exists: boolean } | undefined;
    if (exists) return exists.exists === present;
    const values = valuesAt(nodes, key);
    if (values.length === 0) return false;
    return values.some((v) => spec.some((m) => leafMatches(m, v)));
  }
  if (spec !== null && typeof spec === 'object') return matchNodes(spec as Pattern, valuesAt(nodes, key));
  throw new Error(`unsupported pattern value for ${key}: ${JSON.stringify(spec)}`);
}

function matchNodes(pattern: Pattern, nodes: unknown[]): boolean {
  for (const [key, spec] of Object.entries(pattern)) {
    if (key === '$or') {
      if (!Array.isArray(spec) || spec.length < 2) throw new Error('$or needs an array of at least two patterns');
      if (!spec.some((alt) => matchNodes(alt as Pattern, nodes))) return false;
      continue;
    }
    if (!fieldMatches(spec, key, nodes)) return false;
  }
  return true;
}

export function matchesEventPattern(pattern: Pattern, event: Record<string, unknown>): boolean {
  return matchNodes(pattern, [event]);
}

/** A CDK `events.EventPattern` as EventBridge sees it (`detailType` is `detail-type` on the wire). */
export function wirePattern(pattern: Record<string, unknown>): Pattern {
  const { detailType, ...rest } = pattern;
  return detailType === undefined ? rest : { ...rest, 'detail-type': detailType };
}

/** Resolves the CloudFormation intrinsics a synthesized pattern may hold (Ref to pseudo parameters, Fn::Join). */
export function resolveIntrinsics(value: unknown, refs: Record<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveIntrinsics(v, refs));
  if (value === null || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  if ('Ref' in o && Object.keys(o).length === 1) {
    const r = refs[String(o.Ref)];
    if (r === undefined) throw new Error(`no value for Ref ${String(o.Ref)}`);
    return r;
  }
  if ('Fn::Join' in o && Object.keys(o).length === 1) {
    const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => String(resolveIntrinsics(p, refs))).join(sep);
  }
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, resolveIntrinsics(v, refs)]));
}

/**
 * The state machine definition as it will run on AWS, pulled out of the synthesized template
 * with its intrinsic functions resolved. Tests and the sandbox run THIS definition with
 * aws-local-stepfunctions, so what is tested is what is deployed.
 */

export interface StateMachineDefinition {
  StartAt: string;
  States: Record<string, Record<string, unknown>>;
  TimeoutSeconds?: number;
  Comment?: string;
  [key: string]: unknown;
}

export interface ResolveOptions {
  /** Fake value for `Fn::GetAtt [logicalId, attr]`; default a Lambda-looking ARN per logical id. */
  getAtt?: (logicalId: string, attribute: string) => string;
  /** Value for `Ref`; default pseudo parameters get fixed fake values. */
  ref?: (name: string) => string;
}

const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'us-east-1',
  'AWS::AccountId': '111111111111',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'JitAccess-test',
};

function resolveIntrinsics(value: unknown, opts: Required<ResolveOptions>): unknown {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => resolveIntrinsics(v, opts));
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1) {
    const [k] = keys as [string];
    const arg = obj[k];
    if (k === 'Fn::Join') {
      const [sep, parts] = arg as [string, unknown[]];
      return parts.map((p) => String(resolveIntrinsics(p, opts))).join(sep);
    }
    if (k === 'Fn::GetAtt') {
      const [logicalId, attribute] = (typeof arg === 'string' ? arg.split('.') : arg) as [string, string];
      return opts.getAtt(logicalId, attribute);
    }
    if (k === 'Ref') return opts.ref(arg as string);
  }
  return Object.fromEntries(Object.entries(obj).map(([key, v]) => [key, resolveIntrinsics(v, opts)]));
}

/** The one state machine's definition in a synthesized template, intrinsics resolved. */
export function definitionFromTemplate(template: Record<string, unknown>, options: ResolveOptions = {}): StateMachineDefinition {
  const resources = (template.Resources ?? {}) as Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  const machines = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine');
  if (machines.length !== 1) throw new Error(`Expected exactly one state machine in the template, found ${machines.length}`);
  const props = machines[0]![1].Properties ?? {};
  const opts: Required<ResolveOptions> = {
    getAtt: options.getAtt ?? ((logicalId) => `arn:aws:lambda:us-east-1:111111111111:function:${logicalId}`),
    ref: options.ref ?? ((name) => PSEUDO[name] ?? name),
  };
  const raw = props.DefinitionString;
  const text = typeof raw === 'string' ? raw : String(resolveIntrinsics(raw, opts));
  return JSON.parse(text) as StateMachineDefinition;
}

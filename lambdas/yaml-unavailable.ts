/**
 * Stands in for the `yaml` package inside the Lambda bundles (esbuild alias in
 * infra/constructs/jit-function.ts). The functions read the policy as JSON, inlined at synth from
 * the YAML file, so the YAML parser (112 KB minified, a third of the bridge bundle) is left out.
 */
export function parseDocument(): never {
  throw new Error('YAML is not available in the Lambda functions: they read the policy as JSON.');
}

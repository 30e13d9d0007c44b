/**
 * The AWS API models (botocore's `data/<service>/<version>/service-2.json[.gz]`), and a validator
 * of request inputs against them: required members, enums, string lengths and patterns, list and
 * map sizes, number ranges. Members the model does not know are reported separately as "newer
 * than the model", never as errors.
 *
 * Where the models come from, newest first:
 *   1. `JIT_BOTOCORE_DATA` (a botocore `data` directory) when set: only that one;
 *   2. the botocore of the `python3` on PATH (the machine image's pyenv Python has 1.43, 2026
 *      models), found by asking python3 (5 s timeout), and the usual pyenv install paths;
 *   3. Debian's python3-botocore (1.29, December 2022), which `.ci/run` installs.
 * Every candidate that exists is ranked by its botocore version; a service missing from the newest
 * falls back to the next. The source used is printed once, so a test run says which models it
 * checked against.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export const DEBIAN_BOTOCORE_DATA = '/usr/lib/python3/dist-packages/botocore/data';
/** @deprecated kept for callers that name Debian's directory explicitly; use `modelSources()`. */
export const BOTOCORE_DATA = DEBIAN_BOTOCORE_DATA;
export const MODELS_ENV = 'JIT_BOTOCORE_DATA';
export const INSTALL_HINT =
  'The AWS API models (botocore) are missing. Install one of: `apt-get install -y python3-botocore` (Debian, 2022 models), ' +
  '`python3 -m pip install botocore` (newest models), or point JIT_BOTOCORE_DATA at a botocore `data` directory';

export interface ModelSource {
  /** A botocore `data` directory. */
  dir: string;
  /** botocore's `__version__`, e.g. `1.43.11` (`unknown` when it cannot be read). */
  version: string;
  /** How it was found: `JIT_BOTOCORE_DATA`, `python3`, `pyenv`, `debian`. */
  origin: string;
}

function botocoreVersion(dataDir: string): string {
  try {
    const init = readFileSync(join(dirname(dataDir), '__init__.py'), 'utf8');
    return /__version__\s*=\s*['"]([^'"]+)['"]/.exec(init)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Compares dotted versions numerically (`unknown` sorts last). */
function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => Number.parseInt(x, 10));
  const pb = b.split('.').map((x) => Number.parseInt(x, 10));
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = Number.isNaN(pa[i] ?? 0) ? -1 : (pa[i] ?? 0);
    const y = Number.isNaN(pb[i] ?? 0) ? -1 : (pb[i] ?? 0);
    if (x !== y) return x - y;
  }
  return 0;
}

function pythonBotocoreData(env: NodeJS.ProcessEnv): string | undefined {
  try {
    const out = execFileSync('python3', ['-c', 'import botocore, os; print(os.path.dirname(botocore.__file__))'], { timeout: 5_000, stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8', env });
    const dir = out.trim().split('\n').at(-1);
    return dir ? join(dir, 'data') : undefined;
  } catch {
    return undefined;
  }
}

function pyenvBotocoreData(env: NodeJS.ProcessEnv): string[] {
  const root = env.PYENV_ROOT ?? join(env.HOME ?? homedir(), '.pyenv');
  const versions = join(root, 'versions');
  if (!existsSync(versions)) return [];
  const out: string[] = [];
  for (const v of readdirSync(versions)) {
    const lib = join(versions, v, 'lib');
    if (!existsSync(lib)) continue;
    for (const py of readdirSync(lib).filter((d) => d.startsWith('python'))) out.push(join(lib, py, 'site-packages', 'botocore', 'data'));
  }
  return out;
}

let sourcesCache: ModelSource[] | undefined;

/**
 * Every botocore `data` directory found, newest botocore first. With `JIT_BOTOCORE_DATA` set, only
 * that one (an error if it does not exist: a wrong setting must not silently fall back).
 */
export function modelSources(env: NodeJS.ProcessEnv = process.env, debianDir = DEBIAN_BOTOCORE_DATA): ModelSource[] {
  const cacheable = env === process.env && debianDir === DEBIAN_BOTOCORE_DATA;
  if (cacheable && sourcesCache) return sourcesCache;
  let sources: ModelSource[];
  const configured = env[MODELS_ENV];
  if (configured) {
    if (!existsSync(configured)) throw new Error(`${MODELS_ENV}=${configured}: no such directory (it must be a botocore \`data\` directory, e.g. .../site-packages/botocore/data)`);
    sources = [{ dir: configured, version: botocoreVersion(configured), origin: MODELS_ENV }];
  } else {
    const candidates: Array<{ dir: string | undefined; origin: string }> = [
      { dir: pythonBotocoreData(env), origin: 'python3' },
      ...pyenvBotocoreData(env).map((dir) => ({ dir, origin: 'pyenv' })),
      { dir: debianDir, origin: 'debian' },
    ];
    const seen = new Set<string>();
    sources = [];
    for (const c of candidates) {
      if (!c.dir || seen.has(c.dir) || !existsSync(c.dir)) continue;
      seen.add(c.dir);
      sources.push({ dir: c.dir, version: botocoreVersion(c.dir), origin: c.dir === debianDir ? 'debian' : c.origin });
    }
    sources.sort((a, b) => compareVersions(b.version, a.version));
  }
  if (cacheable) sourcesCache = sources;
  return sources;
}

export interface ShapeRef {
  shape: string;
  location?: string;
  locationName?: string;
}

export interface Shape {
  type: string;
  required?: string[];
  members?: Record<string, ShapeRef>;
  member?: ShapeRef;
  key?: ShapeRef;
  value?: ShapeRef;
  enum?: string[];
  min?: number;
  max?: number;
  pattern?: string;
  /** A free-form JSON document (e.g. identitystore AttributeValue). */
  document?: boolean;
}

export interface ServiceModel {
  metadata: { protocol: string; serviceId: string; targetPrefix?: string; jsonVersion?: string };
  operations: Record<string, { name: string; input?: { shape: string }; output?: { shape: string } }>;
  shapes: Record<string, Shape>;
}

export interface LoadedModel extends ServiceModel {
  /** Where this model was read from. */
  source: ModelSource & { file: string };
}

const cache = new Map<string, LoadedModel>();
const announced = new Set<string>();

function readModel(dataDir: string, service: string): { model: ServiceModel; file: string } | undefined {
  const dir = join(dataDir, service);
  if (!existsSync(dir)) return undefined;
  for (const version of readdirSync(dir).sort().reverse()) {
    for (const file of ['service-2.json', 'service-2.json.gz']) {
      const path = join(dir, version, file);
      if (!existsSync(path)) continue;
      const raw = readFileSync(path);
      return { model: JSON.parse((file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8')) as ServiceModel, file: path };
    }
  }
  return undefined;
}

/**
 * Loads `<service>/<newest API version>/service-2.json(.gz)` from the newest botocore that has the
 * service (or from `from`: one data directory, or a list of sources); throws the install hint
 * when no source has it.
 */
export function loadServiceModel(service: string, from?: string | readonly ModelSource[]): LoadedModel {
  const explicit = typeof from === 'string' ? [{ dir: from, version: botocoreVersion(from), origin: 'explicit' }] : from;
  const cacheKey = `${explicit ? explicit.map((s) => s.dir).join(',') : '*'}|${service}`;
  const hit = cache.get(cacheKey);
  if (hit) return hit;
  const sources = explicit ?? modelSources();
  for (const source of sources) {
    const found = readModel(source.dir, service);
    if (!found) continue;
    const loaded: LoadedModel = Object.assign(found.model, { source: { ...source, file: found.file } });
    cache.set(cacheKey, loaded);
    const line = `botocore ${source.version} (${source.origin}: ${source.dir})`;
    if (!explicit && !announced.has(line)) {
      announced.add(line);
      // Said plainly in the test output: which models the requests were checked against.
      console.log(`      [AWS API models] ${line}, first used for ${service}`);
    }
    return loaded;
  }
  const looked = sources.length > 0 ? sources.map((s) => s.dir).join(', ') : `python3's botocore, ~/.pyenv, ${DEBIAN_BOTOCORE_DATA} (none exists)`;
  throw new Error(`${INSTALL_HINT}. No model for ${service} in: ${looked}.`);
}

export interface ValidationReport {
  /** Violations of the model: these fail a contract test. */
  errors: string[];
  /** Members the model does not define (added by AWS after the model was published). */
  unknownMembers: string[];
}

const patternCache = new Map<string, RegExp | null>();

export function compilePattern(pattern: string): RegExp | null {
  if (patternCache.has(pattern)) return patternCache.get(pattern)!;
  let re: RegExp | null = null;
  // Java's inline case-insensitive flag becomes JavaScript's `i`.
  const caseless = pattern.includes('(?i)');
  const source = pattern.replaceAll('(?i)', '');
  for (const flags of caseless ? ['iu', 'i'] : ['u', '']) {
    try {
      re = new RegExp(source, flags);
      break;
    } catch {
      // Java-only syntax: try without the unicode flag, then give up on this pattern.
    }
  }
  patternCache.set(pattern, re);
  return re;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Date) return 'Date';
  if (value instanceof Uint8Array) return 'bytes';
  return typeof value;
}

function check(model: ServiceModel, shapeName: string, value: unknown, path: string, report: ValidationReport): void {
  const shape = model.shapes[shapeName];
  if (!shape) {
    report.errors.push(`${path}: the model has no shape ${shapeName}`);
    return;
  }
  if (value === undefined) return;
  if (shape.document) return;
  const t = typeName(value);
  switch (shape.type) {
    case 'structure': {
      if (t !== 'object') return void report.errors.push(`${path}: expected a structure (${shapeName}), got ${t}`);
      const obj = value as Record<string, unknown>;
      for (const name of shape.required ?? []) {
        if (obj[name] === undefined) report.errors.push(`${path}.${name}: required by ${shapeName}`);
      }
      for (const [name, member] of Object.entries(obj)) {
        if (member === undefined) continue;
        const ref = shape.members?.[name];
        if (!ref) {
          report.unknownMembers.push(`${path}.${name}`);
          continue;
        }
        check(model, ref.shape, member, `${path}.${name}`, report);
      }
      return;
    }
    case 'list': {
      if (t !== 'array') return void report.errors.push(`${path}: expected a list (${shapeName}), got ${t}`);
      const items = value as unknown[];
      if (shape.min !== undefined && items.length < shape.min) report.errors.push(`${path}: ${items.length} items, fewer than ${shape.min}`);
      if (shape.max !== undefined && items.length > shape.max) report.errors.push(`${path}: ${items.length} items, more than ${shape.max}`);
      items.forEach((item, i) => check(model, shape.member!.shape, item, `${path}[${i}]`, report));
      return;
    }
    case 'map': {
      if (t !== 'object') return void report.errors.push(`${path}: expected a map (${shapeName}), got ${t}`);
      const entries = Object.entries(value as Record<string, unknown>);
      if (shape.min !== undefined && entries.length < shape.min) report.errors.push(`${path}: ${entries.length} entries, fewer than ${shape.min}`);
      if (shape.max !== undefined && entries.length > shape.max) report.errors.push(`${path}: ${entries.length} entries, more than ${shape.max}`);
      for (const [k, v] of entries) {
        check(model, shape.key!.shape, k, `${path}{${k}}`, report);
        check(model, shape.value!.shape, v, `${path}.${k}`, report);
      }
      return;
    }
    case 'string': {
      if (t !== 'string') return void report.errors.push(`${path}: expected a string (${shapeName}), got ${t}`);
      const s = value as string;
      if (shape.enum && !shape.enum.includes(s)) report.errors.push(`${path}: ${JSON.stringify(s)} is not one of ${shape.enum.join(', ')}`);
      // Lengths are in characters (code points), as the service counts them.
      const length = [...s].length;
      if (shape.min !== undefined && length < shape.min) report.errors.push(`${path}: length ${length} < min ${shape.min}`);
      if (shape.max !== undefined && length > shape.max) report.errors.push(`${path}: length ${length} > max ${shape.max}`);
      if (shape.pattern) {
        const re = compilePattern(shape.pattern);
        if (re && !re.test(s)) report.errors.push(`${path}: ${JSON.stringify(s.slice(0, 80))} does not match ${shape.pattern}`);
      }
      return;
    }
    case 'integer':
    case 'long':
    case 'float':
    case 'double': {
      if (t !== 'number') return void report.errors.push(`${path}: expected a number (${shapeName}), got ${t}`);
      const n = value as number;
      if ((shape.type === 'integer' || shape.type === 'long') && !Number.isInteger(n)) report.errors.push(`${path}: ${n} is not an integer`);
      if (shape.min !== undefined && n < shape.min) report.errors.push(`${path}: ${n} < min ${shape.min}`);
      if (shape.max !== undefined && n > shape.max) report.errors.push(`${path}: ${n} > max ${shape.max}`);
      return;
    }
    case 'boolean':
      if (t !== 'boolean') report.errors.push(`${path}: expected a boolean, got ${t}`);
      return;
    case 'timestamp':
      if (!(value instanceof Date) && t !== 'number' && t !== 'string') report.errors.push(`${path}: expected a timestamp, got ${t}`);
      if (value instanceof Date && Number.isNaN(value.getTime())) report.errors.push(`${path}: invalid Date`);
      return;
    case 'blob':
      if (t !== 'bytes' && t !== 'string') report.errors.push(`${path}: expected bytes, got ${t}`);
      return;
    default:
      // Documents (identitystore AttributeValue) take any JSON.
      return;
  }
}

/** Validates one operation's input. An unknown operation is an error. */
export function validateInput(model: ServiceModel, operation: string, input: unknown): ValidationReport {
  const report: ValidationReport = { errors: [], unknownMembers: [] };
  const op = model.operations[operation];
  if (!op) {
    report.errors.push(`${model.metadata.serviceId} has no operation ${operation}`);
    return report;
  }
  if (op.input) check(model, op.input.shape, input ?? {}, operation, report);
  return report;
}

/** `CreateScheduleCommand` → `CreateSchedule`. */
export function operationOf(commandName: string): string {
  return commandName.replace(/Command$/, '');
}

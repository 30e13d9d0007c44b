/**
 * The AWS API models from Debian's python3-botocore, and a validator of request inputs against
 * them: required members, enums, string lengths and patterns, list and map sizes, number ranges.
 * Members the model does not know are reported separately as "newer than the model" (the Debian
 * models date from late 2022), never as errors.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export const BOTOCORE_DATA = '/usr/lib/python3/dist-packages/botocore/data';
export const INSTALL_HINT = 'The AWS API models are missing: apt-get install -y python3-botocore';

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

const cache = new Map<string, ServiceModel>();

/** Loads `<service>/<newest version with a model>/service-2.json(.gz)`; throws the install hint when absent. */
export function loadServiceModel(service: string, dataDir = BOTOCORE_DATA): ServiceModel {
  const hit = cache.get(service);
  if (hit) return hit;
  const dir = join(dataDir, service);
  if (!existsSync(dir)) throw new Error(`${INSTALL_HINT} (no ${dir})`);
  for (const version of readdirSync(dir).sort().reverse()) {
    for (const file of ['service-2.json', 'service-2.json.gz']) {
      const path = join(dir, version, file);
      if (!existsSync(path)) continue;
      const raw = readFileSync(path);
      const model = JSON.parse((file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8')) as ServiceModel;
      cache.set(service, model);
      return model;
    }
  }
  throw new Error(`${INSTALL_HINT} (no service-2.json under ${dir})`);
}

export interface ValidationReport {
  /** Violations of the model: these fail a contract test. */
  errors: string[];
  /** Members the model does not define (added by AWS after the model was published). */
  unknownMembers: string[];
}

const patternCache = new Map<string, RegExp | null>();

function compilePattern(pattern: string): RegExp | null {
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

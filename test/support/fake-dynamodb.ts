/**
 * A DynamoDB that answers at the wire (through `capturingDocumentClient`), strict on the rules the
 * adapters depend on, so that a store's race or a malformed write fails here as it would in AWS.
 * Every request is applied atomically (one JavaScript turn), in arrival order, like one table
 * partition; concurrency comes from the adapter's own awaits interleaving between requests.
 *
 * Enforced (DynamoDB API Reference, https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/):
 * - TransactWriteItems ("TransactWriteItems"): 1 to 100 actions; exactly one of ConditionCheck, Put,
 *   Update, Delete per action; "Transaction request cannot include multiple operations on one item"
 *   (ValidationException); all conditions are checked before anything is written, and any failure
 *   cancels the whole transaction with TransactionCanceledException whose CancellationReasons has one
 *   entry per action, in order (`None` or `ConditionalCheckFailed`, with the old Item when the action
 *   asked for ReturnValuesOnConditionCheckFailure ALL_OLD).
 * - PutItem / UpdateItem / DeleteItem with a ConditionExpression that is false:
 *   ConditionalCheckFailedException, nothing written ("PutItem", "Condition expressions").
 * - Expression attribute names and values must all be used, and every one used must be defined
 *   (ValidationException "... unused in expressions" / "... not defined"; Developer Guide,
 *   "Expression attribute names", "Expression attribute values").
 * - The item must carry the table's key as a string, and a key attribute of a global secondary index,
 *   when present, must have the index's type ("Missing the key", "Type mismatch for Index Key").
 * - Key of GetItem / DeleteItem / UpdateItem is exactly the primary key ("The provided key element
 *   does not match the schema").
 * - Query on a global secondary index cannot be ConsistentRead ("Consistent reads are not supported
 *   on global secondary indexes"), and an item without the index's key attributes is not in the
 *   index: "DynamoDB writes a corresponding index entry only if the index sort key value is present
 *   in the item" and likewise for the partition key (Developer Guide, "Take advantage of sparse
 *   indexes", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-indexes-general-sparse-indexes.html).
 *   A write that removes the key attribute removes the item from the index in that same write.
 *
 * Reads are counted as DynamoDB meters them (`reads`): a Scan reads every item of the table and a
 * Query every item its key condition selects, before any FilterExpression ("ScannedCount";
 * Developer Guide, "Filter expressions for Query": "A filter expression is applied after a Query
 * finishes, but before the results are returned ... the same amount of read capacity"); read units
 * per "Read consumption for ...": a GetItem rounds its item up to 4 KB, a Query or Scan rounds the
 * sum of the items it read up to 4 KB; eventually consistent reads cost half. Item sizes follow
 * "Item sizes and formats" (attribute names plus values), closely enough for a count.
 *
 * The transaction rules were cross-checked against moto 5.2.1 (`mock_aws`), which answers the same
 * codes and messages for them; moto accepts unused expression attribute values, DynamoDB does not.
 *
 * Known differences: one page for every Query and Scan; no item-size limits (400 KB) or
 * reserved-word checks; global secondary indexes are read consistently here, but are eventually
 * consistent in AWS (which only makes a check-then-write race easier there); expressions are the
 * subset the adapters use (comparisons, IN, AND/OR/NOT, attribute_exists/attribute_not_exists,
 * SET and REMOVE of top-level attributes): anything else throws, so it cannot pass silently.
 */
import type { DynamoResponder } from './aws-capture';

type AV = Record<string, unknown>;
type Item = Record<string, AV>;
type Answer = ReturnType<DynamoResponder>;

export interface FakeTable {
  /** The partition key attribute (string). */
  key: string;
  /** Global secondary indexes: partition and optional sort key attribute (strings). */
  indexes?: Record<string, { partitionKey: string; sortKey?: string }>;
}

const NS = 'com.amazonaws.dynamodb.v20120810#';
const error = (type: string, message: string, extra: Record<string, unknown> = {}): Answer => ({ status: 400, body: { __type: `${NS}${type}`, message, ...extra } });
const validation = (message: string) => error('ValidationException', message);

class Rejected extends Error {
  constructor(readonly answer: Answer) {
    super(String((answer as { body?: { message?: string } }).body?.message));
  }
}
const reject = (message: string): never => {
  throw new Rejected(validation(message));
};

export class FakeDynamoDB {
  readonly tables = new Map<string, Map<string, Item>>();
  /** Every request in arrival order (command name), for assertions on what was sent. */
  readonly log: string[] = [];
  /** Items read and read units consumed, in total and per table (see the header). */
  readonly reads = { items: 0, readUnits: 0, byTable: new Map<string, { items: number; readUnits: number }>() };
  /** Called before each request is applied: a test may answer instead (throttling, say). */
  intercept?: (command: string, input: Record<string, unknown>) => Answer | undefined;

  constructor(private readonly schema: Record<string, FakeTable>) {
    for (const name of Object.keys(schema)) this.tables.set(name, new Map());
  }

  /** The plain (unmarshalled) items of a table. */
  items(table: string): Array<Record<string, unknown>> {
    return [...this.table(table).values()].map((i) => unmarshalItem(i));
  }

  readonly respond: DynamoResponder = (command, input) => {
    this.log.push(command);
    const intercepted = this.intercept?.(command, input);
    if (intercepted) return intercepted;
    try {
      switch (command) {
        case 'GetItemCommand':
          return this.getItem(input);
        case 'PutItemCommand':
          return this.single(input, 'Put');
        case 'UpdateItemCommand':
          return this.single(input, 'Update');
        case 'DeleteItemCommand':
          return this.single(input, 'Delete');
        case 'TransactWriteItemsCommand':
          return this.transactWrite(input);
        case 'QueryCommand':
          return this.query(input);
        case 'ScanCommand':
          return this.scan(input);
        default:
          throw new Error(`FakeDynamoDB does not implement ${command}`);
      }
    } catch (e) {
      if (e instanceof Rejected) return e.answer;
      throw e;
    }
  };

  private table(name: unknown): Map<string, Item> {
    const t = this.tables.get(String(name));
    if (!t) throw new Rejected(error('ResourceNotFoundException', 'Requested resource not found'));
    return t;
  }

  private keyOf(tableName: unknown, key: unknown, what: 'Key' | 'Item'): string {
    const def = this.schema[String(tableName)]!;
    const k = key as Item | undefined;
    if (what === 'Key' && (!k || Object.keys(k).length !== 1 || !k[def.key])) reject('The provided key element does not match the schema');
    const v = k?.[def.key];
    if (!v) reject(`One or more parameter values were invalid: Missing the key ${def.key} in the item`);
    if (typeof v!.S !== 'string') reject('One or more parameter values were invalid: Type mismatch for key');
    return v!.S as string;
  }

  private checkIndexKeys(tableName: unknown, item: Item): void {
    for (const [name, idx] of Object.entries(this.schema[String(tableName)]!.indexes ?? {})) {
      for (const attr of [idx.partitionKey, idx.sortKey]) {
        if (attr && item[attr] && typeof item[attr]!.S !== 'string') reject(`One or more parameter values were invalid: Type mismatch for Index Key ${attr} Expected: S IndexName: ${name}`);
      }
    }
  }

  /** Resets the read counters (a benchmark counts one sweep, not its seeding). */
  resetReads(): void {
    this.reads.items = 0;
    this.reads.readUnits = 0;
    this.reads.byTable.clear();
  }

  private countRead(tableName: unknown, items: readonly Item[], consistent: boolean, perItem: boolean): void {
    const units = (bytes: number) => Math.max(1, Math.ceil(bytes / 4096)) * (consistent ? 1 : 0.5);
    const readUnits = perItem ? units(items.length > 0 ? itemSize(items[0]!) : 0) : units(items.reduce((sum, i) => sum + itemSize(i), 0));
    const t = this.reads.byTable.get(String(tableName)) ?? { items: 0, readUnits: 0 };
    t.items += items.length;
    t.readUnits += readUnits;
    this.reads.byTable.set(String(tableName), t);
    this.reads.items += items.length;
    this.reads.readUnits += readUnits;
  }

  private getItem(input: Record<string, unknown>): Answer {
    const t = this.table(input.TableName);
    const item = t.get(this.keyOf(input.TableName, input.Key, 'Key'));
    this.countRead(input.TableName, item ? [item] : [], input.ConsistentRead === true, true);
    return item ? { Item: structuredClone(item) } : {};
  }

  /** Checks one write action and returns what applying it does, without applying it. */
  private prepare(kind: 'Put' | 'Update' | 'Delete' | 'ConditionCheck', input: Record<string, unknown>): { table: Map<string, Item>; key: string; old?: Item; next?: Item | null; ok: boolean } {
    const table = this.table(input.TableName);
    const key = this.keyOf(input.TableName, kind === 'Put' ? input.Item : input.Key, kind === 'Put' ? 'Item' : 'Key');
    const old = table.get(key);
    const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
    const values = (input.ExpressionAttributeValues ?? {}) as Record<string, AV>;
    const used = { names: new Set<string>(), values: new Set<string>() };
    if (kind === 'ConditionCheck' && !input.ConditionExpression) reject('ConditionExpression is required for ConditionCheck');
    const condition = input.ConditionExpression ? parseCondition(String(input.ConditionExpression)) : undefined;
    if (condition) collect(condition, used);
    let update: UpdateAction[] | undefined;
    if (kind === 'Update') {
      if (!input.UpdateExpression) reject('UpdateExpression is required by this fake');
      update = parseUpdate(String(input.UpdateExpression));
      for (const a of update) {
        used.names.add(a.name);
        if (a.value) collect(a.value, used);
      }
    }
    checkPlaceholders(names, values, used);
    const ok = condition ? (evaluate(condition, old ?? {}, names, values)) : true;
    let next: Item | null | undefined;
    if (kind === 'Put') {
      next = structuredClone(input.Item as Item);
      this.checkIndexKeys(input.TableName, next);
    } else if (kind === 'Delete') next = null;
    else if (kind === 'Update') {
      next = structuredClone(old ?? (input.Key as Item));
      for (const a of update!) {
        const attr = resolveName(a.name, names);
        if (a.kind === 'REMOVE') delete next[attr];
        else next[attr] = operandValue(a.value!, {}, names, values) as AV;
      }
      this.checkIndexKeys(input.TableName, next);
    }
    return { table, key, ...(old ? { old } : {}), ...(next !== undefined ? { next } : {}), ok };
  }

  private single(input: Record<string, unknown>, kind: 'Put' | 'Update' | 'Delete'): Answer {
    const p = this.prepare(kind, input);
    if (!p.ok) {
      const item = input.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' && p.old ? { Item: p.old } : {};
      return error('ConditionalCheckFailedException', 'The conditional request failed', item);
    }
    apply(p);
    return input.ReturnValues === 'ALL_OLD' && p.old ? { Attributes: p.old } : {};
  }

  private transactWrite(input: Record<string, unknown>): Answer {
    const actions = (input.TransactItems ?? []) as Array<Record<string, Record<string, unknown>>>;
    if (actions.length < 1 || actions.length > 100) {
      reject(`1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length ${actions.length < 1 ? 'greater than or equal to 1' : 'less than or equal to 100'}`);
    }
    const seen = new Set<string>();
    const prepared = actions.map((a) => {
      const kinds = Object.keys(a).filter((k) => a[k] !== undefined);
      if (kinds.length !== 1 || !['Put', 'Update', 'Delete', 'ConditionCheck'].includes(kinds[0]!)) reject('TransactItems can only contain one of Check, Put, Update or Delete');
      const kind = kinds[0] as 'Put' | 'Update' | 'Delete' | 'ConditionCheck';
      const p = this.prepare(kind, a[kind]!);
      const id = `${String(a[kind]!.TableName)}\u0000${p.key}`;
      if (seen.has(id)) reject('Transaction request cannot include multiple operations on one item');
      seen.add(id);
      return { p, returnOld: a[kind]!.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' };
    });
    if (prepared.some((x) => !x.p.ok)) {
      const reasons = prepared.map((x) => (x.p.ok ? { Code: 'None' } : { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed', ...(x.returnOld && x.p.old ? { Item: x.p.old } : {}) }));
      return error('TransactionCanceledException', `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`, { CancellationReasons: reasons });
    }
    for (const x of prepared) apply(x.p);
    return {};
  }

  private query(input: Record<string, unknown>): Answer {
    const def = this.schema[String(input.TableName)];
    const table = this.table(input.TableName);
    const index = input.IndexName ? def?.indexes?.[String(input.IndexName)] : { partitionKey: def!.key };
    if (!index) reject('The table does not have the specified index');
    if (input.IndexName && input.ConsistentRead) reject('Consistent reads are not supported on global secondary indexes');
    const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
    const values = (input.ExpressionAttributeValues ?? {}) as Record<string, AV>;
    const keyCondition = parseCondition(String(input.KeyConditionExpression));
    if (keyCondition.type !== 'cmp' || keyCondition.op !== '=' || keyCondition.left.type !== 'path' || resolveName(keyCondition.left.name, names) !== index!.partitionKey) {
      throw new Error('FakeDynamoDB supports only `<partition key> = :value` as a KeyConditionExpression');
    }
    const filter = input.FilterExpression ? parseCondition(String(input.FilterExpression)) : undefined;
    const used = { names: new Set<string>(), values: new Set<string>() };
    collect(keyCondition, used);
    if (filter) collect(filter, used);
    checkPlaceholders(names, values, used);
    let items = [...table.values()].filter((i) => i[index!.partitionKey] && (!index!.sortKey || i[index!.sortKey]) && (evaluate(keyCondition, i, names, values)));
    if (index!.sortKey) {
      const sk = index!.sortKey;
      items.sort((a, b) => String(a[sk]!.S).localeCompare(String(b[sk]!.S)));
      if (input.ScanIndexForward === false) items.reverse();
    }
    this.countRead(input.TableName, items, input.ConsistentRead === true, false);
    const scannedCount = items.length;
    if (filter) items = items.filter((i) => (evaluate(filter, i, names, values)));
    return { Items: structuredClone(items), Count: items.length, ScannedCount: scannedCount };
  }

  private scan(input: Record<string, unknown>): Answer {
    const table = this.table(input.TableName);
    const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
    const values = (input.ExpressionAttributeValues ?? {}) as Record<string, AV>;
    const filter = input.FilterExpression ? parseCondition(String(input.FilterExpression)) : undefined;
    const used = { names: new Set<string>(), values: new Set<string>() };
    if (filter) collect(filter, used);
    checkPlaceholders(names, values, used);
    this.countRead(input.TableName, [...table.values()], input.ConsistentRead === true, false);
    const items = [...table.values()].filter((i) => !filter || (evaluate(filter, i, names, values)));
    return { Items: structuredClone(items), Count: items.length, ScannedCount: table.size };
  }
}

/** An item's size as DynamoDB counts it ("Item sizes and formats"): names plus values, in bytes. */
export function itemSize(item: Record<string, AV>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += Buffer.byteLength(name, 'utf8') + valueSize(value);
  return size;
}

function valueSize(v: AV): number {
  if (typeof v.S === 'string') return Buffer.byteLength(v.S, 'utf8');
  if (typeof v.N === 'string') return Math.ceil(v.N.replace(/^-|\.|e.*$/gi, '').replace(/^0+/, '').length / 2) + 1;
  if (typeof v.B === 'string') return Buffer.from(v.B, 'base64').length;
  if ('BOOL' in v || 'NULL' in v) return 1;
  if (Array.isArray(v.L)) return 3 + (v.L as AV[]).reduce((s: number, x) => s + 1 + valueSize(x), 0);
  if (v.M && typeof v.M === 'object') return 3 + Object.entries(v.M as Record<string, AV>).reduce((s, [k, x]) => s + 1 + Buffer.byteLength(k, 'utf8') + valueSize(x), 0);
  if (Array.isArray(v.SS)) return (v.SS as string[]).reduce((s, x) => s + Buffer.byteLength(x, 'utf8'), 0);
  if (Array.isArray(v.NS)) return (v.NS as string[]).reduce((s, x) => s + Math.ceil(x.length / 2) + 1, 0);
  return 0;
}

function apply(p: { table: Map<string, Item>; key: string; next?: Item | null }): void {
  if (p.next === null) p.table.delete(p.key);
  else if (p.next) p.table.set(p.key, p.next);
}

function checkPlaceholders(names: Record<string, string>, values: Record<string, AV>, used: { names: Set<string>; values: Set<string> }): void {
  for (const n of used.names) if (n.startsWith('#') && !(n in names)) reject(`Value provided in ExpressionAttributeNames unused in expressions: An expression attribute name used in the document path is not defined; attribute name: ${n}`);
  for (const v of used.values) if (!(v in values)) reject(`An expression attribute value used in expression is not defined; attribute value: ${v}`);
  const unusedNames = Object.keys(names).filter((n) => !used.names.has(n));
  if (unusedNames.length) reject(`Value provided in ExpressionAttributeNames unused in expressions: keys: {${unusedNames.join(', ')}}`);
  const unusedValues = Object.keys(values).filter((v) => !used.values.has(v));
  if (unusedValues.length) reject(`Value provided in ExpressionAttributeValues unused in expressions: keys: {${unusedValues.join(', ')}}`);
}

// ── expressions ───────────────────────────────────────────────────────────────────
type Operand = { type: 'path'; name: string } | { type: 'value'; name: string };
type Cond =
  | { type: 'and' | 'or'; left: Cond; right: Cond }
  | { type: 'not'; inner: Cond }
  | { type: 'fn'; fn: 'attribute_exists' | 'attribute_not_exists'; path: Operand }
  | { type: 'cmp'; op: string; left: Operand; right: Operand }
  | { type: 'in'; left: Operand; list: Operand[] };
type UpdateAction = { kind: 'SET' | 'REMOVE'; name: string; value?: Operand };

function tokenize(s: string): string[] {
  const tokens = s.match(/<>|<=|>=|[=<>(),]|[#:]?[A-Za-z0-9_]+|\S/g) ?? [];
  for (const t of tokens) if (/^[.[\]]$/.test(t)) throw new Error(`FakeDynamoDB supports only top-level attributes, not "${s}"`);
  return tokens;
}

function parseCondition(s: string): Cond {
  const t = tokenize(s);
  let i = 0;
  const peek = () => t[i];
  const eat = (x?: string) => {
    const v = t[i++];
    if (v === undefined || (x !== undefined && v.toUpperCase() !== x)) reject(`Invalid ConditionExpression: Syntax error; token: "${v ?? '<EOF>'}", near: "${s}"`);
    return v!;
  };
  const operand = (): Operand => {
    const v = eat();
    if (v.startsWith(':')) return { type: 'value', name: v };
    if (/^#?[A-Za-z_][A-Za-z0-9_]*$/.test(v)) return { type: 'path', name: v };
    return reject(`Invalid ConditionExpression: Syntax error; token: "${v}"`);
  };
  const primary = (): Cond => {
    const v = peek();
    if (v === '(') {
      eat('(');
      const c = or();
      eat(')');
      return c;
    }
    if (v?.toUpperCase() === 'NOT') {
      eat();
      return { type: 'not', inner: primary() };
    }
    if (v === 'attribute_exists' || v === 'attribute_not_exists') {
      eat();
      eat('(');
      const path = operand();
      eat(')');
      return { type: 'fn', fn: v, path };
    }
    if (v && /^[a-z_]+$/.test(v) && t[i + 1] === '(') throw new Error(`FakeDynamoDB does not implement the function ${v}`);
    const left = operand();
    const op = eat();
    if (op.toUpperCase() === 'IN') {
      eat('(');
      const list = [operand()];
      while (peek() === ',') {
        eat(',');
        list.push(operand());
      }
      eat(')');
      return { type: 'in', left, list };
    }
    if (!['=', '<>', '<', '<=', '>', '>='].includes(op)) throw new Error(`FakeDynamoDB does not implement the operator ${op}`);
    return { type: 'cmp', op, left, right: operand() };
  };
  const and = (): Cond => {
    let c = primary();
    while (peek()?.toUpperCase() === 'AND') {
      eat();
      c = { type: 'and', left: c, right: primary() };
    }
    return c;
  };
  const or = (): Cond => {
    let c = and();
    while (peek()?.toUpperCase() === 'OR') {
      eat();
      c = { type: 'or', left: c, right: and() };
    }
    return c;
  };
  const c = or();
  if (i !== t.length) reject(`Invalid ConditionExpression: Syntax error; token: "${t[i]}", near: "${s}"`);
  return c;
}

function parseUpdate(s: string): UpdateAction[] {
  const out: UpdateAction[] = [];
  const t = tokenize(s);
  let i = 0;
  while (i < t.length) {
    const clause = t[i++]!.toUpperCase();
    if (clause !== 'SET' && clause !== 'REMOVE') throw new Error(`FakeDynamoDB supports only SET and REMOVE, not "${s}"`);
    for (;;) {
      const name = t[i++]!;
      if (clause === 'SET') {
        if (t[i++] !== '=') throw new Error(`FakeDynamoDB supports only "SET path = :value", not "${s}"`);
        const v = t[i++]!;
        out.push({ kind: 'SET', name, value: v.startsWith(':') ? { type: 'value', name: v } : { type: 'path', name: v } });
      } else out.push({ kind: 'REMOVE', name });
      if (t[i] !== ',') break;
      i++;
    }
  }
  return out;
}

function collect(c: Cond | Operand, used: { names: Set<string>; values: Set<string> }): void {
  switch (c.type) {
    case 'path':
      used.names.add(c.name);
      return;
    case 'value':
      used.values.add(c.name);
      return;
    case 'and':
    case 'or':
      collect(c.left, used);
      collect(c.right, used);
      return;
    case 'not':
      collect(c.inner, used);
      return;
    case 'fn':
      collect(c.path, used);
      return;
    case 'cmp':
      collect(c.left, used);
      collect(c.right, used);
      return;
    case 'in':
      collect(c.left, used);
      for (const x of c.list) collect(x, used);
  }
}

const resolveName = (n: string, names: Record<string, string>) => (n.startsWith('#') ? names[n]! : n);

function operandValue(o: Operand, item: Item, names: Record<string, string>, values: Record<string, AV>): AV | undefined {
  return o.type === 'value' ? values[o.name] : item[resolveName(o.name, names)];
}

function evaluate(c: Cond, item: Item, names: Record<string, string>, values: Record<string, AV>): boolean {
  switch (c.type) {
    case 'and':
      return evaluate(c.left, item, names, values) && evaluate(c.right, item, names, values);
    case 'or':
      return evaluate(c.left, item, names, values) || evaluate(c.right, item, names, values);
    case 'not':
      return !evaluate(c.inner, item, names, values);
    case 'fn': {
      const present = item[resolveName(c.path.name, names)] !== undefined;
      return c.fn === 'attribute_exists' ? present : !present;
    }
    case 'in': {
      const l = operandValue(c.left, item, names, values);
      return c.list.some((x) => compare(l, operandValue(x, item, names, values)) === 0);
    }
    case 'cmp': {
      const r = compare(operandValue(c.left, item, names, values), operandValue(c.right, item, names, values));
      if (r === undefined) return false;
      return { '=': r === 0, '<>': r !== 0, '<': r < 0, '<=': r <= 0, '>': r > 0, '>=': r >= 0 }[c.op as '='];
    }
  }
}

/** DynamoDB compares values of one type only; a missing attribute or another type is "not equal". */
function compare(a: AV | undefined, b: AV | undefined): number | undefined {
  if (!a || !b) return undefined;
  if (a.N !== undefined && b.N !== undefined) return Number(a.N) - Number(b.N);
  if (a.S !== undefined && b.S !== undefined) return String(a.S) < String(b.S) ? -1 : String(a.S) > String(b.S) ? 1 : 0;
  if (a.BOOL !== undefined && b.BOOL !== undefined) return a.BOOL === b.BOOL ? 0 : 1;
  const [ta, tb] = [Object.keys(a)[0], Object.keys(b)[0]];
  if (ta !== tb) return 1;
  return JSON.stringify(a) === JSON.stringify(b) ? 0 : 1;
}

function unmarshalItem(item: Item): Record<string, unknown> {
  const conv = (v: AV): unknown => {
    if (v.S !== undefined) return v.S;
    if (v.N !== undefined) return Number(v.N);
    if (v.BOOL !== undefined) return v.BOOL;
    if (v.NULL !== undefined) return null;
    if (v.L !== undefined) return (v.L as AV[]).map(conv);
    if (v.M !== undefined) return Object.fromEntries(Object.entries(v.M as Item).map(([k, x]) => [k, conv(x)]));
    return v;
  };
  return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, conv(v)]));
}

/**
 * The sandbox's generated and seeded configuration: the Agents Playground config (validated
 * against the schema shipped inside @microsoft/m365agentsplayground), the demo directory, the
 * port check, the data folder (atomic writes, reset).
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { z } from 'zod';
import { startAwsStandIns } from '../../sandbox/aws';
import { CorruptDataError, JsonDocument, SANDBOX_DATA_MARKER, writeJsonAtomic } from '../../sandbox/aws/persistence';
import { PLAYGROUND_CONFIG_FILE, PLAYGROUND_IDS, type PlaygroundConfig, buildPlaygroundConfig, renderPlaygroundYaml, writePlaygroundConfig } from '../../sandbox/playground';
import { PortInUseError, SANDBOX_PORTS, assertPortsFree, explainListenError, portFromEnv } from '../../sandbox/ports';
import { ResetRefusedError, resetSandboxData } from '../../sandbox/reset';
import { DEMO_PERMISSION_SETS, demoDirectory, demoPreexistingAssignments, loadDemoPeople } from '../../sandbox/seed';

/** The config schema as the installed playground ships it (embedded in its bundle). */
function playgroundSchema(): object {
  const bundle = readFileSync(require.resolve('@microsoft/m365agentsplayground/dist/index.js'), 'utf8');
  const id = bundle.indexOf('"$id":"https://aka.ms/teams-app-test-tool-config/');
  assert.ok(id > 0, 'the playground bundle embeds its config schema');
  const open = bundle.lastIndexOf("JSON.parse('", id) + "JSON.parse('".length;
  const close = bundle.indexOf("')", id);
  const literal = runInNewContext(`'${bundle.slice(open, close)}'`) as string;
  return JSON.parse(literal) as object;
}

describe('sandbox configuration: Agents Playground', () => {
  const schema = playgroundSchema();
  const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);

  it('generates a config that the playground schema accepts', () => {
    const config = parse(renderPlaygroundYaml(buildPlaygroundConfig())) as PlaygroundConfig;
    assert.ok(validate(config), JSON.stringify(validate.errors));
    assert.equal(config.version, '0.1.1');
  });

  it('the schema check is real: six users, a misspelled field or a second channel are refused', () => {
    const config = buildPlaygroundConfig();
    assert.ok(!validate({ ...config, users: [...config.users, config.currentUser] }));
    const { userPrincipleName, ...rest } = config.users[0]!;
    assert.ok(!validate({ ...config, users: [{ ...rest, userPrincipalName: userPrincipleName }, ...config.users.slice(1)] }));
    assert.ok(!validate({ ...config, team: { ...config.team, channels: [...config.team.channels, { id: '19:x@thread.tacv2', name: 'x' }] } }));
  });

  it('has five users besides the current user, unique ids, example.com emails, the placeholder tenant and an on-call channel', () => {
    const config = buildPlaygroundConfig();
    assert.equal(config.users.length, 5);
    const ids = [config.currentUser.id, ...config.users.map((u) => u.id)];
    assert.equal(new Set(ids).size, 6);
    for (const u of [config.currentUser, ...config.users]) {
      assert.match(u.email, /@example\.com$/);
      assert.equal(u.userPrincipleName, u.email);
      assert.ok(!('userPrincipalName' in u));
    }
    assert.equal(config.tenantId, '00000000-0000-0000-0000-000000000001');
    assert.deepEqual(config.team.channels, [{ id: PLAYGROUND_IDS.oncallChannel, name: 'on-call' }]);
    assert.match(PLAYGROUND_IDS.oncallChannel, /^19:[^\s]+$/, 'the bot config requires a 19:... channel id');
  });

  it('casts two requesters, two approvers and one user who is not eligible (by identity store groups)', () => {
    const config = buildPlaygroundConfig();
    const directory = demoDirectory();
    const groupsOf = (upn: string) => {
      const user = directory.users.find((u) => u.userName === upn)!;
      return directory.groups.filter((g) => g.members.includes(user.userId)).map((g) => g.displayName).sort();
    };
    const everyone = [config.currentUser, ...config.users].map((u) => [u.name.split(' ')[0], groupsOf(u.userPrincipleName).join('+')]);
    assert.deepEqual(Object.fromEntries(everyone), {
      Alice: 'Engineers',
      Bob: 'Engineers+Platform-Leads',
      Carol: 'AWS-Approvers',
      Dan: 'AWS-Approvers',
      Erin: 'Contractors',
      Frank: 'AWS-Approvers+Engineers',
    });
  });

  it('refuses demo people that do not fit the playground (not five users, long bot name)', () => {
    const people = loadDemoPeople();
    assert.throws(() => buildPlaygroundConfig({ ...people, people: people.people.slice(0, 5) }), /exactly five users/);
    assert.throws(() => buildPlaygroundConfig({ ...people, people: people.people.map((p) => ({ ...p, playground: 'user' as const })) }), /exactly one currentUser/);
    assert.throws(() => buildPlaygroundConfig(people, { botName: 'x'.repeat(43) }), /42 characters/);
  });

  it('writes .m365agentsplayground.yml into a folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jit-pg-'));
    try {
      const file = writePlaygroundConfig(dir);
      assert.equal(file, join(dir, PLAYGROUND_CONFIG_FILE));
      assert.ok(validate(parse(readFileSync(file, 'utf8'))));
    } finally {
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    }
  });
});

describe('sandbox configuration: demo directory and seed', () => {
  it('the demo directory is consistent (users, groups, ExternalIds = Entra object ids)', () => {
    const people = loadDemoPeople();
    const directory = demoDirectory(people);
    assert.equal(directory.users.length, 6);
    assert.deepEqual(directory.groups.map((g) => g.displayName), ['Engineers', 'AWS-Approvers', 'Contractors', 'Platform-Leads']);
    for (const p of people.people) {
      const user = directory.users.find((u) => u.userId === p.identityStoreUserId)!;
      assert.equal(user.userName, p.upn);
      assert.deepEqual(user.externalIds, [{ issuer: people.externalIdIssuer, id: p.aadObjectId }]);
    }
  });

  it('rejects a broken demo directory with the reason', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jit-seed-'));
    try {
      const good = JSON.parse(readFileSync(join(__dirname, '../../sandbox/demo-directory.json'), 'utf8')) as { people: Array<Record<string, unknown>> };
      const write = (doc: unknown) => {
        writeFileSync(join(dir, 'd.json'), JSON.stringify(doc));
        return join(dir, 'd.json');
      };
      assert.throws(() => loadDemoPeople(write({ ...good, people: good.people.map((p, i) => (i === 1 ? { ...p, groups: ['nobody'] } : p)) })), /unknown group nobody/);
      assert.throws(() => loadDemoPeople(write({ ...good, people: good.people.map((p, i) => (i === 1 ? { ...p, upn: 'bob@contoso.com' } : p)) })), /upn/);
      assert.throws(() => loadDemoPeople(write({ ...good, people: good.people.map((p) => ({ ...p, teamsUserId: '29:same' })) })), /duplicate teamsUserId/);
    } finally {
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    }
  });

  it('seeds one pre-existing assignment (Carol, ReadOnly, sandbox-prod) on a known permission set', () => {
    const [seed] = demoPreexistingAssignments();
    assert.equal(seed?.accountId, '222222222222');
    assert.equal(seed?.permissionSetArn, DEMO_PERMISSION_SETS.find((p) => p.name === 'ReadOnly')?.arn);
  });
});

describe('sandbox configuration: ports', () => {
  it('names the port, what needs it and the variable that moves it', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const error = await assertPortsFree([{ port, what: 'bot', env: 'JIT_BOT_PORT' }]).then(
        () => assert.fail('the port is taken'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof PortInUseError);
      assert.equal(error.message, `port ${port} (bot) is already in use: stop the other process or set JIT_BOT_PORT`);
    } finally {
      blocker.close();
    }
  });

  it('passes when every port is free, and refuses one port configured twice', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await assertPortsFree([{ port, what: 'bot', env: 'JIT_BOT_PORT' }]);
    await assert.rejects(assertPortsFree([{ port, what: 'bot', env: 'JIT_BOT_PORT' }, { port, what: 'AWS stand-ins', env: 'JIT_AWS_PORT' }]), /port \d+ \(AWS stand-ins\) is also configured for bot: stop the other process or set JIT_AWS_PORT/);
  });

  it('reads ports from the environment and refuses garbage', () => {
    assert.equal(portFromEnv(SANDBOX_PORTS.bot, {}).port, 3978);
    assert.equal(portFromEnv(SANDBOX_PORTS.bot, { JIT_BOT_PORT: '4000' }).port, 4000);
    assert.throws(() => portFromEnv(SANDBOX_PORTS.bot, { JIT_BOT_PORT: 'eighty' }), /JIT_BOT_PORT=eighty is not a port number/);
    assert.throws(() => portFromEnv(SANDBOX_PORTS.aws, { JIT_AWS_PORT: '70000' }), /JIT_AWS_PORT/);
  });

  it('startAwsStandIns on a taken port fails with the same clear sentence', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await assert.rejects(startAwsStandIns({ port, dataDir: false }), new RegExp(`^PortInUseError: port ${port} \\(AWS stand-ins\\) is already in use: stop the other process or set JIT_AWS_PORT$`));
      assert.equal(explainListenError(Object.assign(new Error('x'), { code: 'EACCES' }), SANDBOX_PORTS.bot).message, 'port 3978 (bot) cannot be opened (permission denied): stop the other process or set JIT_BOT_PORT');
    } finally {
      blocker.close();
    }
  });
});

describe('sandbox configuration: data folder', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jit-data-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }));

  it('writes JSON atomically: no temporary file is left, the old content stays whole until the rename', async () => {
    const file = join(dir, 'state.json');
    await writeJsonAtomic(file, { a: 1 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => writeJsonAtomic(file, { a: i, pad: 'x'.repeat(10_000) })));
    const content = JSON.parse(readFileSync(file, 'utf8')) as { a: number; pad: string };
    assert.equal(content.pad.length, 10_000);
    assert.deepEqual(readdirSync(dir), ['state.json']);
  });

  it('coalesces saves and flushes the latest snapshot', async () => {
    let value = 0;
    const { doc, loaded } = JsonDocument.open(join(dir, 'doc.json'), z.object({ value: z.number() }), () => ({ value }));
    assert.equal(loaded, undefined);
    for (value = 1; value <= 100; value++) doc.save();
    value = 100;
    doc.save();
    await doc.flush();
    const reopened = JsonDocument.open(join(dir, 'doc.json'), z.object({ value: z.number() }), () => ({ value: 0 }));
    assert.deepEqual(reopened.loaded, { value: 100 });
  });

  it('names the file and the fix when a data file is corrupt', () => {
    writeFileSync(join(dir, 'bad.json'), '{"value": ');
    assert.throws(() => JsonDocument.open(join(dir, 'bad.json'), z.object({ value: z.number() }), () => ({ value: 0 })), (e: unknown) => e instanceof CorruptDataError && e.message.includes('bad.json') && e.message.includes('npm run sandbox:reset'));
    writeFileSync(join(dir, 'wrong.json'), '{"value": "x"}');
    assert.throws(() => JsonDocument.open(join(dir, 'wrong.json'), z.object({ value: z.number() }), () => ({ value: 0 })), /wrong\.json is unreadable \(value: /);
  });

  it('sandbox:reset deletes a sandbox data folder, refuses foreign folders and a running sandbox', async () => {
    const data = join(dir, '.sandbox-data');
    const aws = await startAwsStandIns({ port: 0, dataDir: data });
    assert.ok(existsSync(join(data, SANDBOX_DATA_MARKER)));
    await aws.stop();
    assert.deepEqual(resetSandboxData(data, dir), { kind: 'removed', dir: data });
    assert.ok(!existsSync(data));
    assert.deepEqual(resetSandboxData(data, dir), { kind: 'absent', dir: data });

    const foreign = join(dir, 'photos');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'cat.jpg'), 'meow');
    assert.throws(() => resetSandboxData(foreign, dir), ResetRefusedError);
    assert.ok(existsSync(join(foreign, 'cat.jpg')));
    assert.throws(() => resetSandboxData('.', dir), ResetRefusedError);

    // A sandbox that is running (another process, alive) is never pulled from under its feet.
    mkdirSync(data);
    writeFileSync(join(data, SANDBOX_DATA_MARKER), '');
    writeFileSync(join(data, 'endpoints.json'), JSON.stringify({ pid: process.ppid }));
    assert.throws(() => resetSandboxData(data, dir), /The sandbox is running \(process \d+\)\. Stop it with Ctrl-C first/);
    assert.ok(existsSync(data));
  });
});

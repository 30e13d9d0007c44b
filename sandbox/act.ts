/**
 * `npx tsx sandbox/act.ts <person> <pending|approve|deny> [request id] [reason...]`: act as another
 * demo person in the running sandbox.
 *
 * Why: the Agents Playground shows one user (Alice) and does not support Teams' user-specific card
 * views, so the approval card in its "on-call" channel has no Approve/Deny buttons and nobody can
 * switch to Carol in its UI. This sends the decision to the bridge as that person (the same call
 * the bot makes when an approver clicks), so the bridge checks the policy's approver groups as
 * usual (Frank cannot approve his own request, Erin approves nothing), and the cards in the
 * playground are updated by the normal notification path.
 *
 * Step-up: where the policy wants a fresh sign-in to vote (the demo's Admin rules), the bridge
 * answers the first call STEP_UP_REQUIRED, as it does for the bot, which would answer Teams with a
 * loginRequest. The playground has no SSO, so this plays Teams and the bot: it gets the person a
 * Teams SSO token from the sandbox's local issuer (with MFA, or without it with `--no-mfa`), dated
 * by the sandbox clock, checks it with the bot's own verifier (bot/step-up.ts) and sends the vote
 * again with its claims.
 */
import { join } from 'node:path';
import { ACTOR_HEADERS } from '../contract/bridge';
import { DEFAULT_DATA_DIR } from './aws/persistence';
import { parseBotConfig } from '../bot/config';
import { StepUpTokenError, StepUpVerifier } from '../bot/step-up';
import {
  SANDBOX_BRIDGE_AUDIENCE,
  SANDBOX_BOT_APP_ID,
  SANDBOX_ISSUER_KEY_FILE,
  SANDBOX_SSO_APPLICATION_ID_URI,
  SANDBOX_SSO_CONNECTION_NAME,
  type LocalIssuer,
  createLocalIssuer,
  sandboxBridgeToken,
} from './jwt-authorizer';
import { loadDemoPeople } from './seed';

/** The bridge's default port (sandbox/orchestrator BRIDGE_PORT; importing it would load the whole sandbox). */
const bridgeUrl = `http://127.0.0.1:${process.env.JIT_BRIDGE_PORT ?? '3979'}`;

type Json = Record<string, unknown>;
interface RequestLine {
  id: string;
  state: string;
  requester: { displayName: string };
  permissionSetName: string;
  accountName: string;
  accountId: string;
}

export const USAGE = 'Usage: npx tsx sandbox/act.ts <carol|dan|frank|...> <pending|approve|deny> [request id] [reason...] [--no-mfa]';

/** A token the sandbox bridge admits, signed with the key the running sandbox keeps in its data folder. */
const tokenFromDataDir = () =>
  sandboxBridgeToken(join(process.env.JIT_SANDBOX_DATA_DIR ?? DEFAULT_DATA_DIR, SANDBOX_ISSUER_KEY_FILE), { appId: SANDBOX_BOT_APP_ID, tenantId: loadDemoPeople().tenantId });

/** The local issuer (it plays Entra) from the key the running sandbox keeps in its data folder. */
const issuerFromDataDir = () =>
  createLocalIssuer({ tenantId: loadDemoPeople().tenantId, audience: SANDBOX_BRIDGE_AUDIENCE, keyFile: join(process.env.JIT_SANDBOX_DATA_DIR ?? DEFAULT_DATA_DIR, SANDBOX_ISSUER_KEY_FILE), create: false });

export async function act(
  argv: string[],
  out: (line: string) => void = console.log,
  base = bridgeUrl,
  token: () => Promise<string> = tokenFromDataDir,
  issuer: () => Promise<LocalIssuer> = issuerFromDataDir,
): Promise<number> {
  const mfa = !argv.includes('--no-mfa');
  const [who, verb, id, ...reasonWords] = argv.filter((a) => a !== '--no-mfa');
  const people = loadDemoPeople();
  const person = people.people.find((p) => p.key === who?.toLowerCase());
  if (!person || !['pending', 'approve', 'deny'].includes(verb ?? '')) {
    out(`${USAGE}\nPeople: ${people.people.map((p) => `${p.key} (${p.role})`).join(', ')}`);
    return 2;
  }
  let bearer: string;
  try {
    bearer = await token();
  } catch (e) {
    out((e as Error).message);
    return 1;
  }
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${bearer}`, [ACTOR_HEADERS.tenantId]: people.tenantId, [ACTOR_HEADERS.aadObjectId]: person.aadObjectId, [ACTOR_HEADERS.upn]: person.upn };
  const call = async (method: string, path: string, body?: Json): Promise<{ status: number; json: Json }> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
    } catch {
      throw new Error(`The sandbox bridge does not answer at ${base}. Is \`npm start\` running?`);
    }
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as Json) : {} };
  };
  const describe = (r: RequestLine) => `${r.id}  ${r.state}  ${r.requester.displayName}: ${r.permissionSetName} on ${r.accountName} (${r.accountId})`;

  const pending = await call('GET', '/requests?view=pending');
  if (pending.status !== 200) {
    out(`The bridge refused: ${JSON.stringify(pending.json)}`);
    return 1;
  }
  const waiting = (pending.json.requests ?? []) as RequestLine[];
  if (verb === 'pending') {
    out(waiting.length ? waiting.map(describe).join('\n') : `Nothing is waiting for ${person.givenName}'s vote.`);
    return 0;
  }
  const target = id ?? (waiting.length === 1 ? waiting[0]!.id : undefined);
  if (!target) {
    out(waiting.length ? `Several requests wait for ${person.givenName}; name one:\n${waiting.map(describe).join('\n')}` : `Nothing is waiting for ${person.givenName}'s vote.`);
    return waiting.length ? 2 : 1;
  }
  const reason = reasonWords.join(' ') || `${verb === 'approve' ? 'Approved' : 'Denied'} in the sandbox by ${person.givenName}.`;
  let r = await call('POST', `/requests/${encodeURIComponent(target)}/decisions`, { decision: verb, reason });
  if (r.status !== 200 && (r.json.error as { code?: string } | undefined)?.code === 'STEP_UP_REQUIRED') {
    out(`The policy wants a fresh sign-in: ${(r.json.error as { message?: string }).message ?? ''}`);
    let stepUp;
    try {
      stepUp = await stepUpClaims(base, await issuer(), person.aadObjectId, people.tenantId, mfa);
    } catch (e) {
      out(`${person.givenName}'s sign-in was refused: ${(e as Error).message}`);
      return 1;
    }
    out(`Signed ${person.givenName} in ${mfa ? 'with' : 'WITHOUT'} MFA (a Teams SSO token from the sandbox's local issuer); voting again.`);
    r = await call('POST', `/requests/${encodeURIComponent(target)}/decisions`, { decision: verb, reason, stepUp });
  }
  if (r.status !== 200) {
    const error = (r.json.error ?? {}) as { code?: string; message?: string };
    out(`${person.givenName} cannot ${verb} ${target}: ${error.message ?? JSON.stringify(r.json)} (${error.code ?? r.status})`);
    return 1;
  }
  const request = r.json.request as RequestLine;
  out(`${person.givenName} voted ${verb} on ${describe(request)}${r.json.decided ? ' (decided)' : ''}. The cards in the playground follow.`);
  return 0;
}

/**
 * What Teams and the bot do between them: a Teams SSO token for the person, dated by the sandbox
 * clock (which `/_sandbox/clock/advance` may have moved), checked by the bot's verifier.
 */
async function stepUpClaims(base: string, issuer: LocalIssuer, aadObjectId: string, tenantId: string, mfa: boolean) {
  let now = Date.now();
  try {
    const res = await fetch(`${base}/_sandbox/clock`);
    if (res.ok) now = Date.parse(((await res.json()) as { now: string }).now);
  } catch {
    // An older sandbox without the clock route: its clock is the wall clock.
  }
  const token = await issuer.mintUser({ oid: aadObjectId, mfa, issuedAt: Math.floor(now / 1000) });
  const config = parseBotConfig({
    JIT_BOT_MODE: 'test',
    JIT_ALLOWED_TENANT_IDS: tenantId,
    JIT_BRIDGE_URL: base,
    JIT_NOTIFY_SECRET: 'act-does-not-receive-notifications-0000',
    JIT_ONCALL_TEAM_ID: '19:act@thread.tacv2',
    JIT_ONCALL_CHANNEL_ID: '19:act@thread.tacv2',
    JIT_SSO_CONNECTION_NAME: SANDBOX_SSO_CONNECTION_NAME,
    JIT_SSO_APPLICATION_ID_URI: SANDBOX_SSO_APPLICATION_ID_URI,
  });
  try {
    return await new StepUpVerifier(config.sso!, () => now, issuer.jwks).verify(token, { aadObjectId });
  } catch (e) {
    if (e instanceof StepUpTokenError) throw new Error(e.message, { cause: e });
    throw e;
  }
}

if (require.main === module) {
  act(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e: unknown) => {
      console.error((e as Error).message);
      process.exitCode = 1;
    },
  );
}

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
 */
import { join } from 'node:path';
import { ACTOR_HEADERS } from '../contract/bridge';
import { DEFAULT_DATA_DIR } from './aws/persistence';
import { SANDBOX_BOT_APP_ID, SANDBOX_ISSUER_KEY_FILE, sandboxBridgeToken } from './jwt-authorizer';
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

export const USAGE = 'Usage: npx tsx sandbox/act.ts <carol|dan|frank|...> <pending|approve|deny> [request id] [reason...]';

/** A token the sandbox bridge admits, signed with the key the running sandbox keeps in its data folder. */
const tokenFromDataDir = () =>
  sandboxBridgeToken(join(process.env.JIT_SANDBOX_DATA_DIR ?? DEFAULT_DATA_DIR, SANDBOX_ISSUER_KEY_FILE), { appId: SANDBOX_BOT_APP_ID, tenantId: loadDemoPeople().tenantId });

export async function act(argv: string[], out: (line: string) => void = console.log, base = bridgeUrl, token: () => Promise<string> = tokenFromDataDir): Promise<number> {
  const [who, verb, id, ...reasonWords] = argv;
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
  const r = await call('POST', `/requests/${encodeURIComponent(target)}/decisions`, { decision: verb, reason });
  if (r.status !== 200) {
    const error = (r.json.error ?? {}) as { code?: string; message?: string };
    out(`${person.givenName} cannot ${verb} ${target}: ${error.message ?? JSON.stringify(r.json)} (${error.code ?? r.status})`);
    return 1;
  }
  const request = r.json.request as RequestLine;
  out(`${person.givenName} voted ${verb} on ${describe(request)}${r.json.decided ? ' (decided)' : ''}. The cards in the playground follow.`);
  return 0;
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

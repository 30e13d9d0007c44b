/**
 * Reminders and escalation of undecided requests: the policy keys (validated with errors that name
 * the rule and the field), how matching rules merge, which step is due when, and the sweep's
 * writes: once per step, never after a decision, audited, the deadline unchanged; once escalated
 * the escalation group's members may vote (quorum and the self-approval refusal still hold).
 */
import { strict as assert } from 'node:assert';
import { liftMentionTypes } from '../../bot/teams/connector';
import { PolicyError } from '../../core/errors';
import { FakeClock, type MemoryUser } from '../../core/memory';
import type { ReminderTerms } from '../../core/model';
import { evaluateRequest } from '../../core/policy/evaluate';
import type { Policy } from '../../core/policy/types';
import { validatePolicy } from '../../core/policy/validate';
import { approvalTerms, dueReminderStep, remindersDue } from '../../core/reminders';
import * as svc from '../../core/services';
import { memoryWorld } from '../../core/memory';
import { ACCOUNTS, POLICY, USERS, actor, body, startWorkflow } from '../support/core-world';

const MIN = 60_000;

function doc(reminders: unknown, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: 1,
    accounts: [{ id: '111111111111', name: 'dev' }],
    permissionSets: [{ name: 'PowerUser', arn: 'arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-1111111111111111' }],
    rules: [
      {
        id: 'pu',
        eligibleGroups: ['Engineers'],
        accounts: { ids: ['111111111111'] },
        permissionSets: ['PowerUser'],
        maxDuration: 'PT1H',
        approvers: { groups: ['AWS-Approvers'], required: 1 },
        approvalTimeout: 'PT1H',
        ...(reminders !== undefined ? { reminders } : {}),
        ...over,
      },
    ],
  };
}

function issues(d: unknown): Array<{ path: string; message: string }> {
  try {
    validatePolicy(d);
  } catch (e) {
    assert.ok(e instanceof PolicyError, String(e));
    return e.issues;
  }
  assert.fail('the policy was accepted');
}

describe('reminders: policy keys', () => {
  it('normalizes reminders, repeat, tag and escalation into the rule', () => {
    const p = validatePolicy(
      doc({ after: 'PT15M', every: 'PT10M', tag: { id: 'tag-1', name: 'On-call' }, escalateAfter: 'PT45M', escalateTo: { groups: ['Platform-Leads'], channel: '19:escalation@thread.tacv2', tag: { id: 'tag-2', name: 'Leads' } } }),
    );
    assert.deepEqual(p.rules[0]!.reminders, {
      afterSeconds: 900,
      everySeconds: 600,
      tag: { id: 'tag-1', name: 'On-call' },
      escalation: { afterSeconds: 2700, groups: ['Platform-Leads'], channelId: '19:escalation@thread.tacv2', tag: { id: 'tag-2', name: 'Leads' } },
    });
    assert.equal(validatePolicy(doc(undefined)).rules[0]!.reminders, undefined, 'no key, no reminders');
  });

  const BAD: Array<{ name: string; reminders: unknown; over?: Record<string, unknown>; path: RegExp; message: RegExp }> = [
    { name: 'escalation at or after the approval timeout', reminders: { after: 'PT15M', escalateAfter: 'PT1H', escalateTo: { groups: ['Leads'] } }, path: /^rules\[0\] \(id "pu"\)\.reminders\.escalateAfter$/, message: /shorter than approvalTimeout \(PT1H\).*deadline does not move/ },
    { name: 'escalation after the DEFAULT timeout', reminders: { after: 'PT15M', escalateAfter: 'PT2H', escalateTo: { groups: ['Leads'] } }, over: { approvalTimeout: undefined }, path: /reminders\.escalateAfter$/, message: /approvalTimeout \(PT1H, the default\)/ },
    { name: 'a reminder after the timeout', reminders: { after: 'PT1H' }, path: /^rules\[0\] \(id "pu"\)\.reminders\.after$/, message: /times out before the reminder/ },
    { name: 'escalation before the reminder', reminders: { after: 'PT30M', escalateAfter: 'PT20M', escalateTo: { groups: ['Leads'] } }, path: /reminders\.escalateAfter$/, message: /later than after/ },
    { name: 'escalation at the reminder', reminders: { after: 'PT30M', escalateAfter: 'PT30M', escalateTo: { groups: ['Leads'] } }, path: /reminders\.escalateAfter$/, message: /later than after/ },
    { name: 'a reminder sooner than the sweep can send it', reminders: { after: 'PT2M' }, path: /reminders\.after$/, message: /at least PT5M.*every 5 minutes/ },
    { name: 'repeats sooner than the sweep', reminders: { after: 'PT10M', every: 'PT1M' }, path: /reminders\.every$/, message: /at least PT5M/ },
    { name: 'escalateTo without escalateAfter', reminders: { after: 'PT10M', escalateTo: { groups: ['Leads'] } }, path: /reminders\.escalateAfter$/, message: /is required when escalateTo is set/ },
    { name: 'escalateAfter without escalateTo', reminders: { after: 'PT10M', escalateAfter: 'PT30M' }, path: /reminders\.escalateTo$/, message: /is required when escalateAfter is set/ },
    { name: 'escalateTo naming nobody', reminders: { after: 'PT10M', escalateAfter: 'PT30M', escalateTo: { groups: [] } }, path: /reminders\.escalateTo$/, message: /must name groups .* or a channel/ },
    { name: 'escalating to a group that already approves', reminders: { after: 'PT10M', escalateAfter: 'PT30M', escalateTo: { groups: ['Leads', 'AWS-Approvers'] } }, path: /reminders\.escalateTo\.groups\[1\]$/, message: /already an approver group/ },
    { name: 'an empty group name', reminders: { after: 'PT10M', escalateAfter: 'PT30M', escalateTo: { groups: [' '] } }, path: /reminders\.escalateTo\.groups\[0\]$/, message: /must not be empty/ },
    { name: 'a channel name instead of its id', reminders: { after: 'PT10M', escalateAfter: 'PT30M', escalateTo: { channel: 'Escalations' } }, path: /reminders\.escalateTo\.channel$/, message: /Teams channel id like 19:/ },
    { name: 'a typo in a key', reminders: { after: 'PT10M', escalteAfter: 'PT30M' }, path: /reminders\.escalteAfter$/, message: /did you mean escalateAfter\?/ },
    { name: 'the key spelled as people say it', reminders: undefined, over: { escalation: { after: 'PT30M' } }, path: /\.escalation$/, message: /did you mean reminders\.escalateAfter/ },
    { name: 'a group written singular', reminders: { after: 'PT10M', escalateAfter: 'PT30M', escalateTo: { group: 'Leads' } }, path: /escalateTo\.group$/, message: /did you mean groups\?/ },
    { name: 'a tag without a name', reminders: { after: 'PT10M', tag: { id: 'x' } }, path: /reminders\.tag\.name$/, message: /is required/ },
    { name: 'reminders on an auto-approved rule', reminders: { after: 'PT10M' }, over: { approvers: { required: 0 } }, path: /^rules\[0\] \(id "pu"\)\.reminders$/, message: /approvers\.required is 0/ },
    { name: 'a duration that is not ISO 8601', reminders: { after: '15 minutes' }, path: /reminders\.after$/, message: /ISO 8601 duration/ },
    { name: 'reminders without after', reminders: { every: 'PT10M' }, path: /reminders\.after$/, message: /is required/ },
  ];
  for (const c of BAD) {
    it(`refuses ${c.name}, naming the rule and the field`, () => {
      const d = doc(c.reminders, c.over);
      if (c.over && 'approvalTimeout' in c.over && c.over.approvalTimeout === undefined) delete (d.rules as Array<Record<string, unknown>>)[0]!.approvalTimeout;
      const found = issues(d);
      assert.ok(
        found.some((i) => c.path.test(i.path) && c.message.test(i.message)),
        `no issue at ${c.path} matching ${c.message}; got:\n${found.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`,
      );
    });
  }
});

describe('reminders: merging matching rules', () => {
  const base = validatePolicy(doc({ after: 'PT15M', every: 'PT15M', escalateAfter: 'PT40M', escalateTo: { groups: ['Leads', 'Security'], channel: '19:esc@thread.tacv2' } }));
  const withSecond = (reminders: ReminderTerms | undefined): Policy => ({ ...base, rules: [base.rules[0]!, { ...base.rules[0]!, id: 'pu-2', ...(reminders ? { reminders } : { reminders: undefined }) }] });
  const terms = (p: Policy) => {
    const d = evaluateRequest(p, { requesterUserId: 'u', requesterGroups: ['Engineers'], accountId: '111111111111', permissionSetName: 'PowerUser', durationSeconds: 600, breakGlass: false });
    assert.ok(d.allowed, d.allowed ? '' : d.reason);
    return d.terms.reminders;
  };

  it('one rule: its terms', () => assert.deepEqual(terms(base), base.rules[0]!.reminders));
  it('the earliest reminder, the shortest interval; escalation only to the groups every rule names, at the latest time', () => {
    const merged = terms(withSecond({ afterSeconds: 600, everySeconds: 1200, escalation: { afterSeconds: 3000, groups: ['Security'], channelId: '19:other@thread.tacv2' } }));
    assert.deepEqual(merged, { afterSeconds: 600, everySeconds: 900, escalation: { afterSeconds: 3000, groups: ['Security'] } });
  });
  it('a matching rule without escalation means no escalation (escalation widens who may approve)', () => {
    assert.deepEqual(terms(withSecond({ afterSeconds: 1200 })), { afterSeconds: 900, everySeconds: 900 });
  });
  it('escalation groups with nothing in common and no common channel: no escalation', () => {
    assert.equal(terms(withSecond({ afterSeconds: 900, escalation: { afterSeconds: 2400, groups: ['Other'] } }))?.escalation, undefined);
  });
});

describe('reminders: what is due when', () => {
  const posted = Date.UTC(2026, 0, 1, 9, 0, 0);
  const deadline = posted + 60 * MIN;
  const terms: ReminderTerms = { afterSeconds: 15 * 60, everySeconds: 10 * 60, escalation: { afterSeconds: 45 * 60, groups: ['Leads'] } };
  const req = (over: Record<string, unknown> = {}) =>
    ({ state: 'PENDING_APPROVAL', route: 'approval', cardPostedAt: new Date(posted).toISOString(), approvalDeadline: new Date(deadline).toISOString(), terms: { ...POLICY.rules[1], approverGroups: ['AWS-Approvers'], reminders: terms }, ...over }) as never;

  it('counts reminders from the card post, never at or past the deadline', () => {
    assert.equal(remindersDue(terms, posted, deadline, posted + 14 * MIN), 0);
    assert.equal(remindersDue(terms, posted, deadline, posted + 15 * MIN), 1);
    assert.equal(remindersDue(terms, posted, deadline, posted + 24 * MIN), 1);
    assert.equal(remindersDue(terms, posted, deadline, posted + 25 * MIN), 2);
    assert.equal(remindersDue(terms, posted, deadline, posted + 5 * 60 * MIN), 5, 'only the reminders before the deadline (15, 25, 35, 45, 55)');
    assert.equal(remindersDue({ afterSeconds: 900 }, posted, deadline, posted + 50 * MIN), 1, 'without every: one reminder');
  });

  it('the next step: a reminder, then the escalation (standing for the reminders due by then), then nothing', () => {
    assert.equal(dueReminderStep(req(), posted + 10 * MIN), undefined);
    assert.deepEqual(dueReminderStep(req(), posted + 16 * MIN), { kind: 'remind', number: 1 });
    assert.equal(dueReminderStep(req({ reminders: { sent: 1, lastAt: 'x' } }), posted + 20 * MIN), undefined);
    assert.deepEqual(dueReminderStep(req({ reminders: { sent: 1, lastAt: 'x' } }), posted + 36 * MIN), { kind: 'remind', number: 3 }, 'missed reminders are not sent one by one');
    assert.deepEqual(dueReminderStep(req({ reminders: { sent: 3, lastAt: 'x' } }), posted + 45 * MIN), { kind: 'escalate', number: 4 });
    assert.equal(dueReminderStep(req({ reminders: { sent: 4, lastAt: 'x', escalation: { at: 'x', groups: ['Leads'] } } }), posted + 50 * MIN), undefined);
    assert.deepEqual(dueReminderStep(req({ reminders: { sent: 4, lastAt: 'x', escalation: { at: 'x', groups: ['Leads'] } } }), posted + 55 * MIN), { kind: 'remind', number: 5 });
  });

  it('nothing for a decided request, another route, a card not yet posted, or past the deadline', () => {
    assert.equal(dueReminderStep(req({ state: 'APPROVED' }), posted + 16 * MIN), undefined);
    assert.equal(dueReminderStep(req({ route: 'break_glass' }), posted + 16 * MIN), undefined);
    assert.equal(dueReminderStep(req({ cardPostedAt: undefined }), posted + 16 * MIN), undefined);
    assert.equal(dueReminderStep(req(), deadline), undefined);
  });

  it('the escalation groups approve only once escalated', () => {
    const before = approvalTerms(req());
    assert.deepEqual(before.approverGroups, ['AWS-Approvers']);
    const after = approvalTerms(req({ reminders: { sent: 4, lastAt: 'x', escalation: { at: 'x', groups: ['Leads'] } } }));
    assert.deepEqual(after.approverGroups, ['AWS-Approvers', 'Leads']);
    assert.equal(after.approvalsRequired, before.approvalsRequired, 'the quorum stands');
  });
});

describe('reminders: the sweep (core/services/reminders.ts)', () => {
  const reminders: ReminderTerms = { afterSeconds: 15 * 60, everySeconds: 10 * 60, escalation: { afterSeconds: 45 * 60, groups: ['Platform-Leads'] } };
  const policy: Policy = { ...POLICY, rules: POLICY.rules.map((r) => (r.id === 'poweruser' || r.id === 'admin' ? { ...r, approvalTimeoutSeconds: 3600, reminders } : r)) };
  const gina: MemoryUser = { userId: 'u-gina', userName: 'gina@example.com', displayName: 'Gina', upn: 'gina@example.com', aadObjectId: '00000000-0000-4000-8000-00000000000a', groups: [{ groupId: 'g-platform-leads', displayName: 'Platform-Leads' }] };
  const make = () => memoryWorld({ policy, users: [...Object.values(USERS), gina], clock: new FakeClock() });
  const ginaActor = { userId: gina.userId, userName: gina.userName, displayName: gina.displayName, aadObjectId: gina.aadObjectId! };
  const pending = async (w: ReturnType<typeof make>, over: Parameters<typeof body>[0] = {}) => {
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body({ accountId: ACCOUNTS.dev, ...over }) });
    await startWorkflow(w, request.id);
    return request.id;
  };
  const audits = (w: ReturnType<typeof make>, id: string) => w.audit.events.filter((e) => e.requestId === id).map((e) => e.action);

  it('reminds once per due step, audited, with the notice; the deadline does not move', async () => {
    const w = make();
    const id = await pending(w);
    const deadline = (await w.requests.get(id))!.approvalDeadline;
    await w.clock.advance(14 * MIN);
    assert.deepEqual(await svc.remindApprovers(w.deps), { reminded: [], escalated: [] });
    await w.clock.advance(2 * MIN);
    assert.deepEqual((await svc.remindApprovers(w.deps)).reminded, [{ requestId: id, number: 1 }]);
    assert.deepEqual((await svc.remindApprovers(w.deps)).reminded, [], 'a replayed sweep sends nothing again');
    const r = (await w.requests.get(id))!;
    assert.equal(r.reminders?.sent, 1);
    assert.equal(r.approvalDeadline, deadline);
    assert.equal(r.state, 'PENDING_APPROVAL');
    assert.deepEqual(w.notifier.eventsFor(id).filter((e) => e === 'reminder'), ['reminder']);
    assert.equal(audits(w, id).filter((a) => a === 'request.reminded').length, 1);
    const event = w.audit.events.find((e) => e.requestId === id && e.action === 'request.reminded')!;
    assert.equal(event.actor.userId, 'system');
    assert.equal(event.details?.reminder, 1);
    assert.match(event.reason, /Reminder 1: no decision after 16 min \(0 of 1 approvals\)/);
  });

  it('escalates: the escalation group may then vote, a non-member and the requester still may not', async () => {
    const w = make();
    const id = await pending(w);
    await assert.rejects(svc.castVote(w.deps, { requestId: id, actor: ginaActor, decision: 'approve' }), { code: 'NOT_APPROVER' }, 'not before the escalation');
    await w.clock.advance(46 * MIN);
    const sweep = await svc.remindApprovers(w.deps);
    assert.deepEqual(sweep.escalated, [id]);
    assert.deepEqual(sweep.reminded, []);
    const r = (await w.requests.get(id))!;
    assert.deepEqual(r.reminders?.escalation?.groups, ['Platform-Leads']);
    assert.equal(r.reminders?.sent, 4, 'the escalation stands for the reminders due by then');
    assert.ok(audits(w, id).includes('request.escalated'));
    assert.ok(w.notifier.eventsFor(id).includes('escalated'));
    await assert.rejects(svc.castVote(w.deps, { requestId: id, actor: actor('erin'), decision: 'approve' }), { code: 'NOT_APPROVER' });
    await assert.rejects(svc.castVote(w.deps, { requestId: id, actor: actor('alice'), decision: 'approve' }), { code: 'SELF_APPROVAL' });
    const pendingForGina = await svc.listRequests(w.deps, { actor: ginaActor, view: 'pending' });
    assert.deepEqual(pendingForGina.map((p) => p.id), [id], 'the escalated request is in her pending list');
    const vote = await svc.castVote(w.deps, { requestId: id, actor: ginaActor, decision: 'approve' });
    assert.equal(vote.decided, true);
    assert.equal(vote.request.state, 'APPROVED');
  });

  it('the quorum still holds after the escalation (2 of M)', async () => {
    const w = make();
    const id = await pending(w, { permissionSetName: 'Admin', ticketId: 'INC-1' });
    await w.clock.advance(46 * MIN);
    await svc.remindApprovers(w.deps);
    const first = await svc.castVote(w.deps, { requestId: id, actor: ginaActor, decision: 'approve' });
    assert.equal(first.decided, false);
    const second = await svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve' });
    assert.equal(second.decided, true);
  });

  it('no reminder after a decision, even one that lands between the sweep reading and writing', async () => {
    const w = make();
    const decided = await pending(w);
    await svc.castVote(w.deps, { requestId: decided, actor: actor('carol'), decision: 'deny' });
    const racing = await pending(w, { permissionSetName: 'Admin', ticketId: 'INC-2' });
    await w.clock.advance(20 * MIN);
    // The vote lands after the sweep listed the request but before its write: the write re-reads and loses.
    const list = w.requests.list.bind(w.requests);
    w.requests.list = async (q) => {
      const found = await list(q);
      if (q.states?.includes('PENDING_APPROVAL')) await svc.castVote(w.deps, { requestId: racing, actor: actor('carol'), decision: 'deny' });
      return found;
    };
    const sweep = await svc.remindApprovers(w.deps);
    assert.deepEqual(sweep, { reminded: [], escalated: [] });
    for (const id of [decided, racing]) {
      assert.ok(!w.notifier.eventsFor(id).includes('reminder'), id);
      assert.ok(!audits(w, id).includes('request.reminded'), id);
      assert.equal((await w.requests.get(id))!.reminders, undefined);
    }
  });

  it('two sweeps at once write the step once (compare-and-swap)', async () => {
    const w = make();
    const id = await pending(w);
    await w.clock.advance(16 * MIN);
    const [a, b] = await Promise.all([svc.remindApprovers(w.deps), svc.remindApprovers(w.deps)]);
    assert.equal(a.reminded.length + b.reminded.length, 1);
    assert.equal(audits(w, id).filter((x) => x === 'request.reminded').length, 1);
  });

  it('a request without reminder terms, or whose card is not posted, is left alone', async () => {
    const w = make();
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body({ accountId: ACCOUNTS.dev }) });
    await w.clock.advance(50 * MIN);
    assert.deepEqual(await svc.remindApprovers(w.deps), { reminded: [], escalated: [] }, 'no card yet: the deadline and the reminders count from the post');
    assert.equal((await w.requests.get(request.id))!.reminders, undefined);
    const plain = memoryWorld({ policy: POLICY, users: Object.values(USERS), clock: new FakeClock() });
    const { request: r2 } = await svc.submitRequest(plain.deps, { actor: actor('alice'), body: body({ accountId: ACCOUNTS.dev }) });
    await startWorkflow(plain, r2.id);
    await plain.clock.advance(14 * MIN);
    assert.deepEqual(await svc.remindApprovers(plain.deps), { reminded: [], escalated: [] });
  });
});

describe('reminders: Teams tag mentions through botbuilder (bot/teams/connector.ts liftMentionTypes)', () => {
  const tag = { type: 'mention', text: '<at>Leads</at>', mentioned: { id: 'dGFn', name: 'Leads', properties: { type: 'tag' } } };
  const person = { type: 'mention', text: '<at>Carol</at>', mentioned: { id: '29:carol', name: 'Carol' } };

  it('lifts a tag mention\'s type out of properties, in a send and in a new thread\'s activity; people are left alone', () => {
    const sent = liftMentionTypes({ body: JSON.stringify({ type: 'message', text: 'x <at>Leads</at> <at>Carol</at>', entities: [tag, person] }) });
    assert.deepEqual(JSON.parse(sent.body).entities, [{ type: 'mention', text: '<at>Leads</at>', mentioned: { id: 'dGFn', name: 'Leads', type: 'tag' } }, person]);
    const created = liftMentionTypes({ body: JSON.stringify({ isGroup: true, activity: { text: '<at>Leads</at>', entities: [tag] } }) });
    assert.equal(JSON.parse(created.body).activity.entities[0].mentioned.type, 'tag');
  });

  it('leaves other bodies untouched (same object)', () => {
    for (const request of [{ body: JSON.stringify({ text: 'hi', entities: [person] }) }, { body: undefined }, { body: '{not json "mentioned" "properties"' }, { body: JSON.stringify({ entities: [{ mentioned: { id: 'x', name: 'y', properties: { type: 'other' } } }] }) }]) {
      assert.equal(liftMentionTypes(request), request);
    }
  });
});

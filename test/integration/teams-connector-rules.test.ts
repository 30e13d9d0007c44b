/**
 * The test connector refuses what Teams refuses (test/support/connector-recorder.ts; the rules and
 * their sources are in sandbox/FIDELITY.md): per bot per conversation rate limits (429 with
 * Retry-After), the message size (413 MessageSizeTooBig), updates of messages that were never
 * posted (404), and Adaptive Cards Teams cannot use (version above 1.5, refresh.userIds that are
 * not user MRIs or more than 60, Action.Execute without a verb). Its clock is injected: no test
 * here depends on wall-clock speed.
 */
import { strict as assert } from 'node:assert';
import { mentionText } from '../../bot/notifications';
import { approvalCard, findingsCard } from '../../cards/render';
import type { AccessRequest } from '../../core/model';
import { cardViolation, ConnectorRecorder, TEAMS_MEMBER_LIMITS, TEAMS_MESSAGE_MAX_UTF16_BYTES, TEAMS_SEND_LIMITS, utf16Bytes } from '../support/connector-recorder';

const card = (extra: Record<string, unknown> = {}) => ({ type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: 'hello' }], ...extra });
const withCard = (content: unknown) => ({ type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content }] });
const GUID = '00000000-0000-4000-8000-0000000000a1';

describe('Teams connector stand-in: the rules Teams enforces', () => {
  let now = 1_000_000;
  let connector: ConnectorRecorder;
  beforeEach(async () => {
    now = 1_000_000;
    connector = new ConnectorRecorder({ now: () => now });
    await connector.start();
  });
  afterEach(() => connector.close());

  const post = async (conversation: string, body: unknown = { type: 'message', text: 'hi' }) => {
    const res = await fetch(`${connector.url}v3/conversations/${encodeURIComponent(conversation)}/activities`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), json: (await res.json()) as { id?: string; error?: { code: string; message: string } } };
  };
  const put = async (conversation: string, id: string, body: unknown = { type: 'message', text: 'edited' }) => {
    const res = await fetch(`${connector.url}v3/conversations/${encodeURIComponent(conversation)}/activities/${id}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as { error?: { code: string } } };
  };

  describe('rate limits per bot per conversation ("Optimize your bot with rate limiting in Teams")', () => {
    it('7 messages in a second; the 8th gets 429 with Retry-After; another conversation is not affected', async () => {
      for (let i = 0; i < 7; i++) assert.equal((await post('19:a@thread.tacv2')).status, 201);
      const eighth = await post('19:a@thread.tacv2');
      assert.equal(eighth.status, 429);
      assert.equal(eighth.retryAfter, '1');
      assert.equal(eighth.json.error?.code, 'TooManyRequests');
      assert.equal((await post('a:personal')).status, 201, 'the limit is per conversation');
      assert.equal(connector.refusals().length, 1);
      assert.equal(connector.writes().length, 8, 'a refused message was not delivered');
    });

    it('8 in 2 seconds: pacing at 7 per rolling second is not enough', async () => {
      for (let i = 0; i < 7; i++) assert.equal((await post('a:c')).status, 201);
      now += 1000;
      assert.equal((await post('a:c')).status, 201, 'the 8th, a second later');
      const ninth = await post('a:c');
      assert.equal(ninth.status, 429, 'a 9th within 2 s');
      assert.equal(ninth.retryAfter, '1');
      now += 1000;
      assert.equal((await post('a:c')).status, 201, 'the first 7 left the 2 s window');
    });

    it('60 in 30 seconds', async () => {
      // One every 250 ms keeps within 7/1 s and 8/2 s; the 61st inside 30 s is refused.
      for (let i = 0; i < 60; i++) {
        assert.equal((await post('a:c')).status, 201, `message ${i + 1}`);
        now += 250;
      }
      const refused = await post('a:c');
      assert.equal(refused.status, 429);
      assert.ok(Number(refused.retryAfter) >= 1 && Number(refused.retryAfter) <= 15, `Retry-After ${refused.retryAfter}`);
    });

    it('the windows are the documented table, and a long window is enforced like the short ones', async () => {
      assert.deepEqual(TEAMS_SEND_LIMITS, [
        { seconds: 1, max: 7 },
        { seconds: 2, max: 8 },
        { seconds: 30, max: 60 },
        { seconds: 3600, max: 1800 },
      ]);
      assert.deepEqual(TEAMS_MEMBER_LIMITS.map((w) => [w.seconds, w.max]), [[1, 14], [2, 16], [30, 120], [3600, 3600]]);
      const hourly = new ConnectorRecorder({ now: () => now, rateLimits: { send: [{ seconds: 3600, max: 5 }], members: [] } });
      await hourly.start();
      try {
        const one = () => fetch(`${hourly.url}v3/conversations/a:h/activities`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":"message","text":"x"}' });
        for (let i = 0; i < 5; i++) {
          assert.equal((await one()).status, 201);
          now += 600_000;
        }
        const refused = await one();
        assert.equal(refused.status, 429);
        assert.equal(refused.headers.get('retry-after'), '600', 'until the first leaves the hour');
        now += 600_000;
        assert.equal((await one()).status, 201);
      } finally {
        await hourly.close();
      }
    });

    it('updates count against the same budget; member lookups have their own (14 per second)', async () => {
      const first = await post('a:c');
      for (let i = 0; i < 6; i++) assert.equal((await put('a:c', first.json.id!)).status, 200);
      assert.equal((await put('a:c', first.json.id!)).status, 429);
      const member = () => fetch(`${connector.url}v3/conversations/a:c/members/29:x`).then((r) => r.status);
      for (let i = 0; i < 14; i++) assert.equal(await member(), 404, 'not a member, but answered');
      assert.equal(await member(), 429);
    });
  });

  describe('message size ("Format your bot messages": 413 MessageSizeTooBig)', () => {
    it('refuses a message above 80 KB of UTF-16, accepts one below, and counts UTF-16 like Teams', async () => {
      const base = JSON.stringify({ type: 'message', text: '' }).length;
      assert.equal((await post('a:c', { type: 'message', text: 'a'.repeat(40_960 - base) })).status, 201, 'exactly 80 KB');
      const big = await post('a:c', { type: 'message', text: 'a'.repeat(40_961 - base) });
      assert.equal(big.status, 413);
      assert.equal(big.json.error?.code, 'MessageSizeTooBig');
      // 30,000 ASCII characters: 30 KB of UTF-8 but 60 KB of UTF-16 (fits); a card of 45,000 does not.
      assert.equal((await post('a:c', withCard(card({ body: [{ type: 'TextBlock', text: 'x'.repeat(30_000) }] })))).status, 201);
      now += 5000;
      assert.equal((await post('a:c', withCard(card({ body: [{ type: 'TextBlock', text: 'x'.repeat(45_000) }] })))).status, 413);
    });
  });

  describe('updates name a posted message', () => {
    it('404 for an activity never posted, or posted in another conversation; 200 for one posted here', async () => {
      const posted = await post('a:c1');
      assert.equal((await put('a:c1', 'never-posted')).status, 404);
      assert.equal((await put('a:c2', posted.json.id!)).json.error?.code, 'ActivityNotFoundInConversation');
      assert.equal((await put('a:c1', posted.json.id!)).status, 200);
      // A channel thread's first message can be updated in the thread's conversation.
      const res = await fetch(`${connector.url}v3/conversations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ isGroup: true, channelData: { channel: { id: '19:oncall@thread.tacv2' } }, activity: { type: 'message', text: 'thread' } }) });
      const thread = (await res.json()) as { id: string; activityId: string };
      assert.equal((await put(thread.id, thread.activityId)).status, 200);
    });
  });

  describe('conversation ids have Teams\' forms', () => {
    it('a Graph team GUID or an object id names no conversation (404 ConversationNotFound); Teams ids do', async () => {
      connector.addMember({ id: '29:carol', aadObjectId: GUID, name: 'Carol Chen', userPrincipalName: 'carol@example.com', email: 'carol@example.com' });
      const member = (team: string) => fetch(`${connector.url}v3/conversations/${encodeURIComponent(team)}/members/${encodeURIComponent(GUID)}`);
      const byGuid = await member('00000000-0000-4000-8000-0000000000ff');
      assert.equal(byGuid.status, 404);
      assert.equal(((await byGuid.json()) as { error: { code: string } }).error.code, 'ConversationNotFound');
      assert.equal((await member('19:team@thread.tacv2')).status, 200);
      assert.equal((await post('not-a-conversation')).status, 404);
      for (const id of ['19:oncall@thread.tacv2', '19:chat@thread.v2', 'a:1personal', '19:old@thread.skype;messageid=1234']) assert.equal((await post(id)).status, 201, id);
      const thread = await fetch(`${connector.url}v3/conversations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ isGroup: true, channelData: { channel: { id: '00000000-0000-4000-8000-0000000000ff' } }, activity: { type: 'message', text: 'x' } }) });
      assert.equal(thread.status, 404, 'a channel thread needs a channel id');
    });
  });

  describe('Adaptive Cards Teams can use (400 BadArgument)', () => {
    const refused: Array<[string, unknown, RegExp]> = [
      ['version 1.6 (Teams stops at 1.5)', card({ version: '1.6' }), /newer than 1\.5/],
      ['version 2.0', card({ version: '2.0' }), /newer than 1\.5/],
      ['no version', card({ version: undefined }), /version/],
      ['not an AdaptiveCard', { ...card(), type: 'Card' }, /AdaptiveCard/],
      ['61 refresh.userIds', card({ refresh: { action: { type: 'Action.Execute', verb: 'r' }, userIds: Array.from({ length: 61 }, (_, i) => `29:u${i}`) } }), /at most 60/],
      ['a playground-style id in refresh.userIds', card({ refresh: { action: { type: 'Action.Execute', verb: 'r' }, userIds: ['user-carol'] } }), /user MRIs/],
      ['a bare Entra object id in refresh.userIds', card({ refresh: { action: { type: 'Action.Execute', verb: 'r' }, userIds: [GUID] } }), /user MRIs/],
      ['a refresh action that is not Action.Execute', card({ refresh: { action: { type: 'Action.Submit' }, userIds: ['29:u'] } }), /Action\.Execute/],
      ['an Action.Execute without a verb', card({ actions: [{ type: 'Action.Execute', title: 'Approve', data: {} }] }), /Approve.*no verb/],
      ['a nested Action.Execute without a verb', card({ body: [{ type: 'ActionSet', actions: [{ type: 'Action.Execute', verb: '' }] }] }), /no verb/],
      // "Text features": a DATE/TIME function the clients do not expand is shown raw.
      ['a DATE() with fractional seconds', card({ body: [{ type: 'TextBlock', text: 'at {{DATE(2030-05-01T10:00:00.000Z, SHORT)}}' }] }), /DATE\/TIME function/],
      ['a TIME() without a time zone', card({ body: [{ type: 'FactSet', facts: [{ title: 'At', value: '{{TIME(2030-05-01T10:00:00)}}' }] }] }), /DATE\/TIME function/],
      ['a lower-case date()', card({ body: [{ type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: '{{date(2030-05-01T10:00:00Z)}}' }] }] }), /DATE\/TIME function/],
      ['a DATE() with spaces inside', card({ body: [{ type: 'TextBlock', text: '{{ DATE(2030-05-01T10:00:00Z) }}' }] }), /DATE\/TIME function/],
      ['a DATE() with an unknown style', card({ body: [{ type: 'TextBlock', text: '{{DATE(2030-05-01T10:00:00Z, MEDIUM)}}' }] }), /DATE\/TIME function/],
      ['a DATE() of a day that does not exist', card({ body: [{ type: 'TextBlock', text: '{{DATE(2030-02-30T10:00:00Z)}}' }] }), /DATE\/TIME function/],
    ];
    for (const [name, content, why] of refused) {
      it(`refuses ${name}`, async () => {
        assert.match(cardViolation(content) ?? '', why);
        const res = await post('a:c', withCard(content));
        assert.equal(res.status, 400);
        assert.equal(res.json.error?.code, 'BadArgument');
        assert.equal(connector.cards().length, 0, 'nothing was delivered');
      });
    }

    it('accepts 1.5 and older, 60 user MRIs (29: ids and 8:orgid:<object id>) and verbs everywhere', async () => {
      const good = [
        card(),
        card({ version: '1.2' }),
        card({ refresh: { action: { type: 'Action.Execute', verb: 'approval.refresh', data: {} }, userIds: [...Array.from({ length: 59 }, (_, i) => `29:u${i}`), `8:orgid:${GUID}`] }, actions: [{ type: 'Action.Execute', verb: 'approval.approve', title: 'Approve' }] }),
        // Well-formed DATE/TIME functions (Z or an offset, with or without a style), and a neutralized one (a zero-width space after "{").
        card({ body: [{ type: 'TextBlock', text: '{{DATE(2030-05-01T10:00:00Z, COMPACT)}} {{TIME(2030-05-01T10:00:00-07:00)}} {{DATE(2030-05-01T10:00:00+05:30,LONG)}} {\u200b{date(x)}}' }] }),
      ];
      for (const c of good) {
        assert.equal(cardViolation(c), undefined);
        assert.equal((await post(`a:c-${good.indexOf(c)}`, withCard(c))).status, 201);
      }
      assert.equal(connector.cards().length, 4);
    });
  });

  describe('@mentions ("Channel and group chat conversations with a bot", Add mentions to your messages)', () => {
    const mention = (text: string, id = '29:user-carol', name = 'Carol Chen', type?: 'tag') => ({ type: 'mention', text, mentioned: { id, name, ...(type ? { type } : {}) } });
    it('refuses a mention whose <at> text is not in the message text (Teams would silently drop the mention)', async () => {
      const missing = await post('19:a@thread.tacv2;messageid=1', { type: 'message', text: 'Reminder: please decide.', entities: [mention('<at>Carol Chen</at>')] });
      assert.equal(missing.status, 400);
      assert.equal(missing.json.error?.code, 'BadArgument');
      assert.match(missing.json.error?.message ?? '', /<at>Carol Chen<\/at>/);
      const different = await post('19:a@thread.tacv2;messageid=1', { type: 'message', text: 'Reminder: <at>Carol</at>', entities: [mention('<at>Carol Chen</at>')] });
      assert.equal(different.status, 400, 'the tag must be exactly the entity text');
      const noTag = await post('19:a@thread.tacv2;messageid=1', { type: 'message', text: 'Reminder: Carol Chen', entities: [mention('Carol Chen')] });
      assert.equal(noTag.status, 400, 'the entity text is the <at> tag');
      const noId = await post('19:a@thread.tacv2;messageid=1', { type: 'message', text: 'Reminder: <at>Carol Chen</at>', entities: [mention('<at>Carol Chen</at>', '')] });
      assert.equal(noId.status, 400, 'a mention names who is mentioned');
      assert.equal(connector.writes().length, 0);
    });

    it('accepts people and tag mentions whose tags are in the text, with the card or without', async () => {
      const ok = await post('19:a@thread.tacv2;messageid=1', { type: 'message', text: 'Reminder: <at>Carol Chen</at>, <at>Dan Diaz</at>', entities: [mention('<at>Carol Chen</at>'), mention('<at>Dan Diaz</at>', '8:orgid:' + GUID, 'Dan Diaz')] });
      assert.equal(ok.status, 201);
      const tag = await post('19:a@thread.tacv2;messageid=1', { type: 'message', text: 'Escalated: <at>Platform Leads</at>', entities: [mention('<at>Platform Leads</at>', 'MjQzMmYzYzEtZDk2Ny00ZDM4LTk3MTEtNmM5MGQ5M2E0NTZh', 'Platform Leads', 'tag')] });
      assert.equal(tag.status, 201);
      assert.equal((await post('19:a@thread.tacv2', { ...withCard(card()), text: 'New: <at>Carol Chen</at>', entities: [mention('<at>Carol Chen</at>')] })).status, 201);
    });

    it('mentions inside a card ("Mention support within Adaptive Cards"): each msteams.entities tag must be in a TextBlock of that card', async () => {
      const inCard = (text: string, entities: unknown[]) => {
        const c = card();
        return withCard({ ...c, body: [{ type: 'TextBlock', text, wrap: true }, ...c.body], msteams: { entities } });
      };
      const ok = await post('19:a@thread.tacv2', inCard('Approvers: <at>Carol Chen</at>', [mention('<at>Carol Chen</at>')]));
      assert.equal(ok.status, 201);
      const missing = await post('19:a@thread.tacv2', inCard('Approvers: Carol', [mention('<at>Carol Chen</at>')]));
      assert.equal(missing.status, 400);
      assert.match(missing.json.error?.message ?? '', /not in any TextBlock of the card/);
      const nobody = await post('19:a@thread.tacv2', inCard('Approvers: <at>Carol Chen</at>', [mention('<at>Carol Chen</at>', '')]));
      assert.equal(nobody.status, 400, 'a card mention names who is mentioned');
      assert.equal(connector.writes().length, 1);
    });
  });

  describe('the product keeps to these rules at its limits', () => {
    // ASCII is the worst case for UTF-16 (2 bytes per character against 1 in UTF-8).
    const a = (n: number) => 'a'.repeat(n);
    const actor = { userId: 'u', userName: a(256), displayName: a(256) };
    const ids = Array.from({ length: 60 }, (_, i) => `29:1${'x'.repeat(86)}${i}`);

    it('the approval post with every field at its limit and 60 approvers @mentioned is a valid card within the size limit', () => {
      const request = {
        id: 'req-01HZX0000000000000', clientRequestId: 'c', version: 4, state: 'PENDING_APPROVAL', requester: actor, accountId: '111111111111', accountName: a(256),
        permissionSetName: 'AdministratorAccess', permissionSetArn: 'arn:aws:sso:::permissionSet/ssoins-0000000000000000/ps-0000000000000000', requestedDurationSeconds: 3600,
        justification: a(500), ticketId: a(64), route: 'approval',
        terms: { ruleIds: Array.from({ length: 40 }, () => a(64)), maxDurationSeconds: 14_400, defaultDurationSeconds: 3600, maxTotalDurationSeconds: 28_800, approvalsRequired: 2, approverGroups: ['oncall'], ticketRequired: true, ticketPatterns: [], breakGlassAllowed: true, breakGlassMaxDurationSeconds: 3600, approvalTimeoutSeconds: 3600 },
        policyReason: a(2000),
        votes: Array.from({ length: 30 }, (_, i) => ({ approver: actor, decision: i % 2 ? 'approve' : 'deny', reason: a(500), at: '2030-05-01T10:06:00.000Z' })),
        createdAt: '2030-05-01T10:00:00.000Z', updatedAt: '2030-05-01T10:00:00.000Z', approvalDeadline: '2030-05-01T11:00:00.000Z',
      } as unknown as AccessRequest;
      // More approvers than Teams allows in refresh.userIds: the card keeps 60.
      const card = approvalCard(request, { approverUserIds: [...ids, '29:extra-1', '29:extra-2'], viewerIsApprover: false, now: '2030-05-01T10:30:00.000Z' });
      assert.equal(cardViolation(card), undefined);
      const approvers = ids.map((teamsUserId, i) => ({ aadObjectId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, teamsUserId, name: `${'N'.repeat(60)}${i}` }));
      const activity = { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: card }], ...mentionText(`Access request from ${a(256)} for AdministratorAccess on ${a(256)}. Approvers:`, approvers) };
      assert.ok(utf16Bytes(activity) <= TEAMS_MESSAGE_MAX_UTF16_BYTES, `${utf16Bytes(activity)} bytes of UTF-16`);
    });

    it('a findings card at its ceiling is a valid card within the size limit', () => {
      const findings = Array.from({ length: 100 }, (_, i) => ({ id: `f${i}`, severity: 'HIGH' as const, title: a(1000), resourceId: a(1000), accountId: '111111111111', productName: a(500), updatedAt: '2030-05-01T10:00:00.000Z', link: `https://example.com/${a(1500)}` }));
      const card = findingsCard(findings, { now: '2030-05-01T10:30:00.000Z', maxItems: 1000 });
      assert.equal(cardViolation(card), undefined);
      assert.ok(utf16Bytes({ type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: card }] }) <= TEAMS_MESSAGE_MAX_UTF16_BYTES);
    });
  });
});

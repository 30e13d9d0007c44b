import { strict as assert } from 'node:assert';
import { ALL_CARD_VERBS, CARD_VERBS, cardActionSchemas, isCardVerb, parseCardAction } from '../../cards';

const REQUEST_ID = 'req-01HZX0000000000000';
/** Empty inputs parse to undefined-valued keys; compare what a handler would read. */
const defined = (o: unknown) => JSON.parse(JSON.stringify(o));

describe('cards: action verbs and their data schemas', () => {
  it('lists every verb once, each with a schema', () => {
    assert.equal(new Set(ALL_CARD_VERBS).size, ALL_CARD_VERBS.length);
    assert.deepEqual(Object.keys(cardActionSchemas).sort(), [...ALL_CARD_VERBS].sort());
    for (const v of ['request.submit', 'request.form', 'request.cancel', 'request.view', 'approval.approve', 'approval.deny', 'approval.refresh', 'review.acknowledge', 'grant.revoke', 'grant.extend', 'menu.request', 'menu.mine', 'menu.pending', 'menu.help']) assert.ok(isCardVerb(v), v);
    assert.equal(CARD_VERBS.approvalApprove, 'approval.approve');
    assert.ok(!isCardVerb('approval.approve ') && !isCardVerb('__proto__') && !isCardVerb(undefined));
  });

  it('approve/deny: request id, integer version and an optional bounded reason', () => {
    const ok = cardActionSchemas['approval.approve'].parse({ requestId: REQUEST_ID, version: 3, reason: 'ok' });
    assert.deepEqual(ok, { requestId: REQUEST_ID, version: 3, reason: 'ok' });
    assert.equal(cardActionSchemas['approval.deny'].parse({ requestId: REQUEST_ID, version: 3, reason: '' }).reason, undefined, 'an empty reason box means no reason');
    for (const bad of [
      { requestId: 'req-1', version: 3 },
      { requestId: `${REQUEST_ID}/../x`, version: 3 },
      { requestId: REQUEST_ID, version: 1.5 },
      { requestId: REQUEST_ID, version: '3' },
      { requestId: REQUEST_ID },
      { requestId: REQUEST_ID, version: 3, reason: 'x'.repeat(501) },
      { requestId: REQUEST_ID, version: 3, reason: 42 },
    ]) assert.equal(cardActionSchemas['approval.approve'].safeParse(bad).success, false, JSON.stringify(bad).slice(0, 80));
  });

  it('forged identity or task token in card data never reaches the handler', () => {
    const forged = { requestId: REQUEST_ID, version: 3, actor: { userId: 'u-admin' }, userId: 'u-admin', aadObjectId: 'x', taskToken: 'AAAA', approver: 'bob' };
    const parsed = parseCardAction('approval.approve', forged);
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.data, { requestId: REQUEST_ID, version: 3 });
  });

  it('extend: the Input.Number string is coerced and bounded', () => {
    assert.equal(cardActionSchemas['grant.extend'].parse({ requestId: REQUEST_ID, additionalMinutes: '30' }).additionalMinutes, 30);
    assert.equal(cardActionSchemas['grant.extend'].parse({ requestId: REQUEST_ID, additionalMinutes: 45 }).additionalMinutes, 45);
    for (const bad of ['0', '-5', '1.5', 'abc', '', '100000', undefined]) {
      assert.equal(cardActionSchemas['grant.extend'].safeParse({ requestId: REQUEST_ID, additionalMinutes: bad }).success, false, String(bad));
    }
  });

  it('submit: coerces Teams input strings and reports missing fields by input id', () => {
    const parsed = parseCardAction('request.submit', {
      clientRequestId: 'client-req-0001',
      accountId: '111111111111',
      permissionSetName: 'ReadOnly',
      durationMinutes: '90',
      justification: 'Investigate INC-1234 in prod',
      ticketId: '',
      breakGlass: 'false',
    });
    assert.ok(parsed.ok);
    assert.deepEqual(defined(parsed.data), { clientRequestId: 'client-req-0001', accountId: '111111111111', permissionSetName: 'ReadOnly', durationMinutes: 90, justification: 'Investigate INC-1234 in prod', breakGlass: false });

    const missing = parseCardAction('request.submit', { clientRequestId: 'client-req-0001', accountId: '', permissionSetName: '', durationMinutes: '', justification: 'short', breakGlass: 'true' });
    assert.ok(!missing.ok);
    const paths = missing.issues.map((i) => i.path).sort();
    assert.deepEqual(paths, ['accountId', 'durationMinutes', 'justification', 'permissionSetName']);
    assert.match(missing.issues.find((i) => i.path === 'justification')!.message, /at least 10/);

    for (const bad of [{ accountId: '12345' }, { permissionSetName: 'has space' }, { clientRequestId: 'x' }, { durationMinutes: '0' }]) {
      const r = parseCardAction('request.submit', { clientRequestId: 'client-req-0001', accountId: '111111111111', permissionSetName: 'ReadOnly', durationMinutes: '60', justification: 'long enough text', ...bad });
      assert.ok(!r.ok, JSON.stringify(bad));
    }
  });

  it('form refresh: every input optional, a half-filled form is accepted', () => {
    const r = parseCardAction('request.form', { clientRequestId: 'client-req-0001', accountId: '222222222222', justification: '' });
    assert.ok(r.ok);
    assert.deepEqual(defined(r.data), { clientRequestId: 'client-req-0001', accountId: '222222222222' });
  });

  it('unknown verbs and non-object data are refused', () => {
    assert.deepEqual(parseCardAction('approval.approve_all', {}), { ok: false, issues: [{ path: 'verb', message: 'is not a known card action' }] });
    assert.equal(parseCardAction('request.cancel', 'req-01HZX0000000000000').ok, false);
    assert.equal(parseCardAction('request.cancel', [REQUEST_ID]).ok, false);
    assert.ok(parseCardAction('menu.help', undefined).ok);
  });
});

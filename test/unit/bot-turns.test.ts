/**
 * The turn logic (bot/turns.ts) runs on the product's own types, without botbuilder: these drive
 * it with plain ConversationTurn objects, as a port to another Teams SDK would. The botbuilder
 * side of the seam (bot/teams/turn.ts) is checked at the end.
 */
import { strict as assert } from 'node:assert';
import type { ConversationRef, ConversationTurn, InboundActivity } from '../../bot/activity';
import { BridgeClient } from '../../bot/bridge-client';
import { systemClock } from '../../bot/delivery';
import { EligibilityCache } from '../../bot/eligibility';
import { IdentityResolver } from '../../bot/identity';
import { silentLog } from '../../bot/log';
import { ApproverDirectory } from '../../bot/notifications';
import { MemoryConversationStore } from '../../bot/storage/memory';
import { teamsRoster } from '../../bot/teams/turn';
import { staticTokenProvider } from '../../bot/token-provider';
import { BotTurns } from '../../bot/turns';

const TENANT = '00000000-0000-0000-0000-000000000001';
const ALICE = '00000000-0000-0000-0000-0000000000a1';
const CHANNEL = '19:oncall@thread.tacv2';

interface FakeTurn extends ConversationTurn {
  replies: object[];
  stripped: number;
}

function turn(activity: Partial<InboundActivity>, reference: ConversationRef = {}): FakeTurn {
  const replies: object[] = [];
  const t: FakeTurn = {
    activity: { type: 'message', from: { id: '29:alice', name: 'Alice', aadObjectId: ALICE }, channelData: { tenant: { id: TENANT } }, ...activity } as InboundActivity,
    replies,
    stripped: 0,
    reference: () => structuredClone(reference),
    textWithoutMention: () => {
      t.stripped++;
      return (activity.text ?? '').replace(/<at>[^<]*<\/at>\s*/g, '');
    },
    replyWithCard: async (card) => void replies.push(card),
  };
  return t;
}

describe('bot turns on the product types (no botbuilder)', () => {
  let store: MemoryConversationStore;
  let saves: number;
  let turns: BotTurns;

  beforeEach(() => {
    store = new MemoryConversationStore();
    saves = 0;
    const save = store.saveUserReference.bind(store);
    store.saveUserReference = async (id, ref) => {
      saves++;
      return save(id, ref);
    };
    // The bridge is never reached by these turns: a closed port makes any call fail loudly.
    const bridge = new BridgeClient({ baseUrl: 'http://127.0.0.1:9', tokens: staticTokenProvider('t'), retryDelayMs: 1 });
    turns = new BotTurns({
      bridge,
      eligibility: new EligibilityCache(bridge),
      identity: new IdentityResolver({ getMember: async () => undefined }),
      store,
      approvers: new ApproverDirectory([], store),
      clock: systemClock,
      log: silentLog,
      newClientRequestId: () => 'cr-0001',
      oncallChannelId: CHANNEL,
      approverAadObjectIds: [],
    });
  });

  it('an invoke that is not Action.Execute is a 400 with an error body, and nothing is stored', async () => {
    const t = turn({ type: 'invoke', name: 'adaptiveCard/action', value: { action: { type: 'Action.Submit', verb: 'menu.help' } } });
    const r = await turns.onCardAction(t);
    assert.equal(r.status, 400);
    assert.deepEqual(r.body, { statusCode: 400, type: 'application/vnd.microsoft.error', value: { code: 'BadRequest', message: 'Only Action.Execute is supported.' } });
    assert.equal(saves, 0);
  });

  it('an unknown verb is a 400; a known one answers with a card', async () => {
    const personal = { conversation: { id: 'a:alice', conversationType: 'personal', tenantId: TENANT } };
    assert.equal((await turns.onCardAction(turn({ ...personal, type: 'invoke', value: { action: { type: 'Action.Execute', verb: 'menu.nope' } } }))).status, 400);
    const ok = await turns.onCardAction(turn({ ...personal, type: 'invoke', value: { action: { type: 'Action.Execute', verb: 'menu.help', data: {} } } }));
    assert.equal(ok.status, 200);
    assert.equal((ok.body as { type: string }).type, 'application/vnd.microsoft.card.adaptive');
  });

  it("a 1:1 chat's reference is stored once while it is unchanged, and again when it changes", async () => {
    const personal = { conversation: { id: 'a:alice', conversationType: 'personal', tenantId: TENANT }, text: 'help' };
    const ref: ConversationRef = { channelId: 'msteams', serviceUrl: 'https://smba.example.invalid/teams/', conversation: { id: 'a:alice', conversationType: 'personal' } };
    await turns.onText(turn(personal, ref));
    await turns.onText(turn(personal, ref));
    assert.equal(saves, 1);
    assert.equal((await store.getUserReference(ALICE))?.serviceUrl, 'https://smba.example.invalid/teams/');
    await turns.onText(turn(personal, { ...ref, serviceUrl: 'https://smba.example.invalid/emea/' }));
    assert.equal(saves, 2);
  });

  it("in a channel the bot's mention is dropped through the turn; in a 1:1 chat the text is used as is", async () => {
    const inChannel = turn({ text: '<at>JIT Access</at> hello', conversation: { id: `${CHANNEL};messageid=1`, conversationType: 'channel', tenantId: TENANT } });
    await turns.onText(inChannel);
    assert.equal(inChannel.stripped, 1);
    assert.equal(inChannel.replies.length, 1);
    // "hello" without the mention is a greeting (the welcome card, with a Help button); with it, unknown text (the help card).
    assert.match(JSON.stringify(inChannel.replies[0]), /menu\.help/, 'the welcome card');
    const personal = turn({ text: 'help', conversation: { id: 'a:alice', conversationType: 'personal', tenantId: TENANT } });
    await turns.onText(personal);
    assert.equal(personal.stripped, 0);
  });

  it('the on-call channel reference is stored under the channel id without the thread suffix', async () => {
    const ref: ConversationRef = { channelId: 'msteams', serviceUrl: 'https://smba.example.invalid/teams/', conversation: { id: `${CHANNEL};messageid=7`, conversationType: 'channel' } };
    await turns.onText(turn({ text: '<at>Bot</at> help', conversation: { id: `${CHANNEL};messageid=7`, conversationType: 'channel', tenantId: TENANT } }, ref));
    assert.equal((await store.getChannelReference())?.conversation?.id, CHANNEL);
  });

  it('the Teams roster refuses a turn that botbuilder did not make (it needs the TurnContext)', async () => {
    await assert.rejects(teamsRoster.getMember(turn({}), '29:alice'), /only be asked during a Teams turn/);
  });
});

/**
 * Child process: the real bot (bot/server.ts startBot) in test mode: authentication off, memory
 * store, silent log, the bridge and connector of bench/bot/stubs.ts. Sends {url} when listening.
 */
import { parseBotConfig } from '../../bot/config';
import { startBot } from '../../bot/server';
import { staticTokenProvider } from '../../bot/token-provider';
import { TENANT_ID, USERS } from '../../test/support/bridge-fixtures';

void (async () => {
  const [bridgeUrl, connectorUrl] = process.argv.slice(2);
  const config = parseBotConfig({
    JIT_BOT_MODE: 'test',
    JIT_ALLOWED_TENANT_IDS: TENANT_ID,
    JIT_BRIDGE_URL: bridgeUrl!,
    JIT_NOTIFY_SECRET: 'bench-notify-secret-0123456789-abcdefghij',
    JIT_ONCALL_TEAM_ID: '19:team@thread.tacv2',
    JIT_ONCALL_CHANNEL_ID: '19:oncall@thread.tacv2',
    JIT_TEAMS_SERVICE_URL: connectorUrl!,
    JIT_ACCESS_PORTAL_URL: 'https://d-1111111111.awsapps.com/start',
    JIT_APPROVER_AAD_IDS: `${USERS.bob.aadObjectId},${USERS.carol.aadObjectId}`,
    JIT_BOT_HOST: '127.0.0.1',
    JIT_BOT_PORT: '0',
  });
  const bot = await startBot(config, { tokens: staticTokenProvider('bench-bridge-token') });
  process.send!({ url: bot.url });
  process.on('SIGTERM', () => void bot.close().finally(() => process.exit(0)));
})();

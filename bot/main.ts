/** Process entry: read the credentials secret and parse the config once, start the bot, stop cleanly on SIGINT/SIGTERM. */
import { BotConfigError } from './config';
import { loadBotConfig } from './credentials';
import { jsonLog } from './log';
import { startBot } from './server';

async function main(): Promise<void> {
  const config = await loadBotConfig(process.env);
  const log = jsonLog(config.logLevel);
  for (const warning of config.warnings) log.warn('configuration', { warning });
  const running = await startBot(config, { log });
  log.info('bot listening', { url: running.url, mode: config.mode, authentication: config.authenticationEnabled, store: config.store.kind, credentials: config.credentialSource ?? 'none' });
  const stop = (signal: string) => {
    log.info('stopping', { signal });
    void running.close().finally(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof BotConfigError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});

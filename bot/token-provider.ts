/**
 * Access tokens for the bridge API. In AWS the bot authenticates to the bridge with an Entra token
 * from the client-credentials flow (msal-node) for the scope `<bridge Application ID URI>/.default`.
 * The bridge app accepts v2 tokens, so the token's `aud` is the bridge's client id whatever URI form
 * the scope used. API Gateway's JWT authorizer checks issuer and audience; the bridge checks `ver`,
 * `azp` (the bot's app id), `tid` and the `Bridge.Invoke` role. In sandbox mode the sandbox's local
 * issuer mints tokens of the same shape (sandbox/jwt-authorizer.ts).
 */
import type { BotConfig } from './config';

export interface TokenProvider {
  /** A bearer token for the bridge. Concurrent callers share one acquisition. */
  getToken(): Promise<string>;
}

/** The one msal method we use; a structural type so tests can stub it without Entra. */
export interface ClientCredentialClient {
  acquireTokenByClientCredential(request: { scopes: string[] }): Promise<{ accessToken: string; expiresOn: Date | null } | null>;
}

export class TokenAcquisitionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TokenAcquisitionError';
  }
}

export interface MsalTokenProviderOptions {
  /** Refresh this long before `expiresOn` so a token never expires in flight. Default 5 minutes. */
  refreshMarginMs?: number;
  /** When msal returns no expiry, keep the token this long. Default 1 minute. */
  unknownExpiryTtlMs?: number;
  now?: () => number;
}

/**
 * Caches the token until `refreshMarginMs` before it expires, and lets concurrent callers share a
 * single in-flight acquisition (single flight), so a burst of card clicks costs one token request.
 */
export class MsalTokenProvider implements TokenProvider {
  private cached: { token: string; refreshAt: number } | undefined;
  private inflight: Promise<string> | undefined;
  private readonly refreshMarginMs: number;
  private readonly unknownExpiryTtlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly client: ClientCredentialClient,
    private readonly scope: string,
    options: MsalTokenProviderOptions = {},
  ) {
    this.refreshMarginMs = options.refreshMarginMs ?? 5 * 60_000;
    this.unknownExpiryTtlMs = options.unknownExpiryTtlMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  getToken(): Promise<string> {
    if (this.cached && this.now() < this.cached.refreshAt) return Promise.resolve(this.cached.token);
    this.inflight ??= this.acquire().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async acquire(): Promise<string> {
    let result: Awaited<ReturnType<ClientCredentialClient['acquireTokenByClientCredential']>>;
    try {
      result = await this.client.acquireTokenByClientCredential({ scopes: [this.scope] });
    } catch (e) {
      // msal errors can echo request details; keep only the error code.
      const code = e && typeof e === 'object' && 'errorCode' in e ? String((e as { errorCode: unknown }).errorCode) : 'unknown';
      throw new TokenAcquisitionError(`Could not get a token for the bridge (${code}).`, { cause: e });
    }
    if (!result?.accessToken) throw new TokenAcquisitionError('Entra returned no access token for the bridge.');
    const now = this.now();
    const expiresAt = result.expiresOn ? result.expiresOn.getTime() : now + this.unknownExpiryTtlMs + this.refreshMarginMs;
    // A token that is already inside the margin is still used once, but never cached.
    const refreshAt = expiresAt - this.refreshMarginMs;
    this.cached = refreshAt > now ? { token: result.accessToken, refreshAt } : undefined;
    return result.accessToken;
  }
}

/** A fixed token, for the sandbox and tests where the bridge does not check Entra tokens. */
export function staticTokenProvider(token: string): TokenProvider {
  return { getToken: () => Promise.resolve(token) };
}

/**
 * The production msal client for the bot's own app registration (the bridge admits only its `azp`).
 * msal is loaded here, on first use: a bot without an app registration (sandbox, test) never
 * carries it in memory (bench/bot-lambda.ts measures the bot's peak RSS).
 */
export async function createMsalClient(config: BotConfig): Promise<ClientCredentialClient> {
  const app = config.app;
  if (!app) throw new TokenAcquisitionError('The bot app registration is not configured; it is needed for bridge tokens.');
  const authority = `${config.bridge.authorityHost}/${app.tenantId}`;
  const credential =
    app.credential.kind === 'secret'
      ? { clientSecret: app.credential.secret }
      : {
          clientCertificate:
            app.credential.thumbprint.length === 64
              ? { thumbprintSha256: app.credential.thumbprint, privateKey: app.credential.privateKey }
              : { thumbprint: app.credential.thumbprint, privateKey: app.credential.privateKey },
        };
  const { ConfidentialClientApplication } = await import('@azure/msal-node');
  return new ConfidentialClientApplication({ auth: { clientId: app.id, authority, ...credential } });
}

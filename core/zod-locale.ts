/**
 * zod/mini carries no error messages until a locale is configured (classic zod configures English on
 * its first schema). Every module that defines zod/mini schemas imports this first, so the issues,
 * and with them the bridge's validation errors and the policy's messages, read exactly as before.
 * A named import of one locale: the other forty stay out of the bundles.
 */
import { config } from 'zod/mini';
import { en } from 'zod/v4/locales';

config(en());

/** `menu.request`: a fresh request form (a new idempotency key). */
import { cardActionSchemas } from '../../cards';
import { buildRequestForm } from './shared';
import { defineHandler } from './types';

export default defineHandler('menu.request', cardActionSchemas['menu.request'], (ctx) => buildRequestForm(ctx, { clientRequestId: ctx.deps.newClientRequestId() }));

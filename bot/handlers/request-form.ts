/** `request.form`: re-render the request form (after choosing an account), keeping what was typed. */
import { cardActionSchemas } from '../../cards';
import { buildRequestForm } from './shared';
import { defineHandler } from './types';

export default defineHandler('request.form', cardActionSchemas['request.form'], async (ctx, data) => {
  const { clientRequestId, ...values } = data;
  return buildRequestForm(ctx, { clientRequestId, values });
});

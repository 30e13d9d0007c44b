/**
 * `request.form`: re-render the request form (after choosing an account or permission set), keeping
 * what was typed. A duration still equal to the one the previous form preselected was not chosen by
 * the requester: it is dropped, so the new form preselects the newly chosen set's default.
 */
import { cardActionSchemas } from '../../cards';
import { buildRequestForm } from './shared';
import { defineHandler } from './types';

export default defineHandler('request.form', cardActionSchemas['request.form'], async (ctx, data) => {
  const { clientRequestId, presetDurationMinutes, ...values } = data;
  if (presetDurationMinutes !== undefined && values.durationMinutes === presetDurationMinutes) delete values.durationMinutes;
  return buildRequestForm(ctx, { clientRequestId, values });
});

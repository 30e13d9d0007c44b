/** `approval.deny`: one approver's deny vote (a deny decides at once). */
import { cardActionSchemas } from '../../cards';
import { decide } from './decide';
import { defineHandler } from './types';

export default defineHandler('approval.deny', cardActionSchemas['approval.deny'], (ctx, data) => decide(ctx, data.requestId, 'deny', data.reason));

/** `approval.approve`: one approver's approve vote. */
import { cardActionSchemas } from '../../cards';
import { decide } from './decide';
import { defineHandler } from './types';

export default defineHandler('approval.approve', cardActionSchemas['approval.approve'], (ctx, data) => decide(ctx, data.requestId, 'approve', data.reason));

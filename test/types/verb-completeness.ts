/**
 * Type-level test, checked by `npx tsc --noEmit` and by test/unit/bot-verb-completeness.test.ts:
 * each `@ts-expect-error` below must find an error, or the compile fails ("Unused directive").
 */
import { ACTION_HANDLERS, type ActionHandlerTable } from '../../bot/handlers';
import menuHelp from '../../bot/handlers/menu-help';

const { 'menu.help': _help, ...withoutHelp } = ACTION_HANDLERS;

// @ts-expect-error a table that lacks a verb is not a handler table
export const missingVerb: ActionHandlerTable = withoutHelp;

// @ts-expect-error a handler filed under another verb's key
export const misfiled: ActionHandlerTable = { ...ACTION_HANDLERS, 'menu.mine': menuHelp };

// @ts-expect-error a verb the cards do not define
export const unknownVerb: ActionHandlerTable = { ...ACTION_HANDLERS, 'menu.other': menuHelp };

export const complete: ActionHandlerTable = ACTION_HANDLERS;

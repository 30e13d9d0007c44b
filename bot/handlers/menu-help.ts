/** `menu.help`: what the bot can do. */
import { cardActionSchemas } from '../../cards';
import { help } from './render';
import { defineHandler } from './types';

export default defineHandler('menu.help', cardActionSchemas['menu.help'], () => Promise.resolve(help()));

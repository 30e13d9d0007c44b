import { strict as assert } from 'node:assert';
import { REQUEST_STATES, TERMINAL_STATES } from '../../core';

describe('core model', () => {
  it('every terminal state is a known state', () => {
    for (const s of TERMINAL_STATES) assert.ok(REQUEST_STATES.includes(s));
  });
});

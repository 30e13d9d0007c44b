/** The real clock and id generator of a function. Everything that needs time or ids takes these as ports. */
import { randomBytes } from 'node:crypto';
import type { Clock, IdGenerator } from '../../core/ports';

export { systemClock } from '../../runtime/clock';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * `req-` + a ULID: 10 characters of time (sortable) and 16 of randomness (80 bits), which fits
 * the bridge's request id pattern (`req-[0-9A-Za-z]{10,40}`) and Step Functions execution names.
 */
export function ulidIds(clock: Clock, bytes: (n: number) => Uint8Array = randomBytes): IdGenerator {
  return {
    requestId() {
      let time = clock.now();
      let head = '';
      for (let i = 0; i < 10; i++) {
        head = CROCKFORD[time % 32]! + head;
        time = Math.floor(time / 32);
      }
      const random = bytes(10);
      let tail = '';
      // 80 bits = 16 characters of 5 bits each.
      let acc = 0;
      let bits = 0;
      for (const byte of random) {
        acc = (acc << 8) | byte;
        bits += 8;
        while (bits >= 5) {
          bits -= 5;
          tail += CROCKFORD[(acc >> bits) & 31]!;
        }
        acc &= (1 << bits) - 1;
      }
      return `req-${head}${tail}`;
    },
  };
}

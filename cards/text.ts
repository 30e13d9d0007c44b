/** Teams rejects card payloads above about 28 KB. */
export const TEAMS_CARD_MAX_BYTES = 28 * 1024;

export function cardByteSize(card: unknown): number {
  return Buffer.byteLength(JSON.stringify(card), 'utf8');
}

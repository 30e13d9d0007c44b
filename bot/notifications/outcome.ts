/** What one notification delivery did, answered to the backend (counted per card or message). */
export type Outcome = { posted: number; updated: number; skipped: number };

export function zero(): Outcome {
  return { posted: 0, updated: 0, skipped: 0 };
}

/** Epoch milliseconds <-> the ISO 8601 strings stored in records. Pure: the Clock port gives `now`. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function ms(isoString: string): number {
  const t = Date.parse(isoString);
  if (Number.isNaN(t)) throw new RangeError(`not an ISO 8601 time: ${isoString}`);
  return t;
}

/** "1 h 30 min", "45 min", "2 d": what a card or an error message shows for a duration. */
export function humanDuration(seconds: number): string {
  const totalMinutes = Math.round(seconds / 60);
  if (totalMinutes < 1) return `${Math.max(0, Math.round(seconds))} s`;
  const days = Math.floor(totalMinutes / 1440);
  const hours = Math.floor((totalMinutes % 1440) / 60);
  const minutes = totalMinutes % 60;
  const parts: string[] = [];
  if (days) parts.push(`${days} d`);
  if (hours) parts.push(`${hours} h`);
  if (minutes) parts.push(`${minutes} min`);
  return parts.join(' ');
}

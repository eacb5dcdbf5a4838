// "How old is this number?" — relative ages and the stale mark, from RFC 3339 timestamps.

/** Data older than this is marked stale. */
export const STALE_AFTER_HOURS = 24;

export function ageText(iso: string, now: Date = new Date()): string {
  const seconds = Math.max(0, (now.getTime() - new Date(iso).getTime()) / 1000);
  if (seconds < 60) return "just now";
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} days ago`;
}

export function isStale(iso: string, now: Date = new Date()): boolean {
  return now.getTime() - new Date(iso).getTime() > STALE_AFTER_HOURS * 3600 * 1000;
}

export function localTime(iso: string): string {
  return new Date(iso).toLocaleString();
}

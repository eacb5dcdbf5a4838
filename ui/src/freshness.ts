// "How old is this number?" The backend decides ages and staleness (with the configured stale
// age); this only formats timestamps for people.

export function localTime(iso: string): string {
  return new Date(iso).toLocaleString();
}

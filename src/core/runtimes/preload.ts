// Models used at regular times, loaded shortly before those times (opt-in). From the usage history:
// a model's first use of each day, in local time; a time of day is regular when the first uses of
// at least `minDays` of the last `lookbackDays` days fall in the same hour. The slot is the median
// of those first uses; the model is loaded `leadMinutes` before it, if it is not in memory then.

interface UseTime {
  /** Which model: any stable key (runtime and name). */
  readonly key: string;
  readonly ts: number;
}

interface PreloadSlot {
  readonly key: string;
  /** Minutes after local midnight when the model is usually first used. */
  readonly minuteOfDay: number;
  /** On how many of the looked-back days it was first used in that hour. */
  readonly days: number;
}

interface SlotOptions {
  readonly lookbackDays?: number;
  readonly minDays?: number;
  /** Minutes to add to UTC for local time (-new Date().getTimezoneOffset()). */
  readonly utcOffsetMinutes?: number;
}

const DAY = 86_400_000;

export function regularSlots(uses: readonly UseTime[], now: number, o: SlotOptions = {}): PreloadSlot[] {
  const lookback = o.lookbackDays ?? 14;
  const minDays = o.minDays ?? 3;
  const offset = (o.utcOffsetMinutes ?? 0) * 60_000;
  const since = now - lookback * DAY;
  // key → local day number → first minute of day used
  const first = new Map<string, Map<number, number>>();
  for (const u of uses) {
    if (u.ts < since || u.ts > now) continue;
    const local = u.ts + offset;
    const day = Math.floor(local / DAY);
    const minute = Math.floor((local - day * DAY) / 60_000);
    const days = first.get(u.key) ?? new Map<number, number>();
    first.set(u.key, days);
    const seen = days.get(day);
    if (seen === undefined || minute < seen) days.set(day, minute);
  }
  const slots: PreloadSlot[] = [];
  for (const [key, days] of first) {
    const byHour = new Map<number, number[]>();
    for (const minute of days.values()) {
      const h = Math.floor(minute / 60);
      byHour.set(h, [...(byHour.get(h) ?? []), minute]);
    }
    for (const minutes of byHour.values()) {
      if (minutes.length < minDays) continue;
      const sorted = [...minutes].sort((a, b) => a - b);
      slots.push({ key, minuteOfDay: sorted[Math.floor((sorted.length - 1) / 2)], days: minutes.length });
    }
  }
  return slots.sort((a, b) => a.minuteOfDay - b.minuteOfDay || a.key.localeCompare(b.key));
}

/** When each slot next wants its model loaded: `leadMinutes` before the slot, today or tomorrow. */
export function preloadTimes(slots: readonly PreloadSlot[], now: number, leadMinutes: number, utcOffsetMinutes = 0): { key: string; at: number; slotAt: number }[] {
  const offset = utcOffsetMinutes * 60_000;
  const today = Math.floor((now + offset) / DAY) * DAY - offset;
  return slots.map((s) => {
    let slotAt = today + s.minuteOfDay * 60_000;
    // A slot already past today comes back tomorrow; one whose lead window holds now is due now.
    if (slotAt < now) slotAt += DAY;
    return { key: s.key, at: slotAt - leadMinutes * 60_000, slotAt };
  });
}

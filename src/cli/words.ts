// Counts in words that agree with their number: "1 device", "2 devices", "no bridges".

/** `count(1, 'device')` is "1 device", `count(2, 'device')` "2 devices"; `plural` for irregular nouns. */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

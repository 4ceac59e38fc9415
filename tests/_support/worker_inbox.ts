/** Messages from a test Worker, read one at a time in order (each call waits for the next). */
export function workerInbox(w: Worker): () => Promise<unknown> {
  const q: unknown[] = [];
  let wake: (() => void) | null = null;
  w.onmessage = (e) => {
    q.push(e.data);
    wake?.();
  };
  return async () => {
    while (q.length === 0) await new Promise<void>((r) => (wake = r));
    wake = null;
    return q.shift();
  };
}

/**
 * Gateway API hostname ranking shared by the TLS SNI lookup (l4/config.ts)
 * and the HTTP listener choice (router/listeners.ts).
 */

/**
 * Names → values, looked up like Gateway API matches hostnames: the exact
 * name first, then the most specific wildcard ("*.example.com" covers one or
 * more leading labels), then the hostless entry. The first registration of a
 * name wins (callers register in precedence order).
 */
export class HostTable<T> {
  private exact = new Map<string, T>();
  private wild: { suffix: string; value: T }[] = [];
  private any: T | null = null;

  /** Registers `value` for `hostnames` ([] or "*" = any name). */
  add(hostnames: readonly string[], value: T): void {
    if (hostnames.length === 0) {
      this.any ??= value;
      return;
    }
    for (const raw of hostnames) {
      const h = raw.toLowerCase();
      if (h === "*") this.any ??= value;
      else if (h.startsWith("*.")) {
        const suffix = h.slice(1);
        if (!this.wild.some((w) => w.suffix === suffix)) this.wild.push({ suffix, value });
      } else if (!this.exact.has(h)) this.exact.set(h, value);
    }
    this.wild.sort((a, b) => b.suffix.length - a.suffix.length);
  }

  /** The value for a name ("" = no name: only the hostless entry). */
  lookup(name: string): T | null {
    if (name !== "") {
      const e = this.exact.get(name);
      if (e !== undefined) return e;
      for (const w of this.wild) {
        if (name.length > w.suffix.length && name.endsWith(w.suffix)) return w.value;
      }
    }
    return this.any;
  }
}

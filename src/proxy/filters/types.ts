/** A minimal mutable header list, implemented by web `Headers` and by the raw engine's own list. */
export interface HeaderList {
  get(name: string): string | null;
  set(name: string, value: string): void;
  append(name: string, value: string): void;
  delete(name: string): void;
}

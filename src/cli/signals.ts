/** Resolves with the name of the first SIGTERM or SIGINT, then stops listening for both. */
export function waitForSignal(): Promise<Deno.Signal> {
  return new Promise((resolve) => {
    const handler = (name: Deno.Signal) => () => {
      Deno.removeSignalListener("SIGTERM", term);
      Deno.removeSignalListener("SIGINT", int);
      resolve(name);
    };
    const term = handler("SIGTERM");
    const int = handler("SIGINT");
    Deno.addSignalListener("SIGTERM", term);
    Deno.addSignalListener("SIGINT", int);
  });
}

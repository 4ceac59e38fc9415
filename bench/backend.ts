/**
 * The benchmark backend: one Deno.serve process on 127.0.0.1:PORT answering
 * "/" with a small body and "/64k" with 64 KiB. Shared by every proxy in a run
 * so only the proxy differs between rows.
 */
const port = Number(Deno.args[0] ?? "18080");
const small = new TextEncoder().encode("hello from the benchmark backend\n");
const big = new Uint8Array(64 * 1024).fill(120);
Deno.serve(
  { hostname: "127.0.0.1", port, onListen: () => console.log(`backend ready on ${port}`) },
  (req) => {
    const path = new URL(req.url).pathname;
    const body = path === "/64k" ? big : small;
    return new Response(body, { headers: { "content-type": "text/plain" } });
  },
);

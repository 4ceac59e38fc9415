/**
 * A demo backend for the quick start: answers every request with a small JSON
 * document naming itself and echoing what it received, so routing is visible.
 *   deno run --allow-net examples/quickstart/backend.ts <name> <port>
 */
const [name = "demo", portArg = "9001"] = Deno.args;
const port = Number(portArg);

Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
  const url = new URL(req.url);
  const body = req.body ? (await req.arrayBuffer()).byteLength : 0;
  const doc = {
    backend: name,
    port,
    method: req.method,
    host: req.headers.get("host"),
    path: url.pathname + url.search,
    xForwardedFor: req.headers.get("x-forwarded-for"),
    xForwardedProto: req.headers.get("x-forwarded-proto"),
    bodyBytes: body,
  };
  return new Response(JSON.stringify(doc) + "\n", {
    headers: { "content-type": "application/json", "x-backend": name },
  });
});

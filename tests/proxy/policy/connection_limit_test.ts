/**
 * ProxyPolicy connectionLimit.perClientIp end to end through the DataPlane:
 * real HTTP/1.1, HTTP/2 and WebSocket clients; requests held at the backend
 * occupy slots, one more is refused 503 with the reason, and every way a
 * request ends (response, client gone, upstream failure, WebSocket close)
 * gives its slot back.
 */
import assert from "node:assert/strict";
import { DataPlane } from "../../../src/proxy/mod.ts";
import { concurrencyCounter } from "../../../src/proxy/policy/concurrency.ts";
import type { Policy } from "../../../src/snapshot/types.ts";
import {
  accessLines,
  cluster,
  freePort,
  gatedBackend,
  listener,
  prefix,
  rawExchange,
  route,
  snapshot,
} from "../_helpers.ts";
import { until } from "../../_support/agent.ts";

const KEY = "ns/conn\x00127.0.0.1";
const inFlight = () => concurrencyCounter().count(KEY);

async function setup(perClientIp: number) {
  const b = gatedBackend();
  const dead = freePort(); // nothing listens here: connect failures
  const port = freePort();
  const dp = new DataPlane({});
  const policies: Policy[] = [{ name: "ns/conn", targets: [], connectionLimit: { perClientIp } }];
  await dp.apply({
    ...snapshot({
      listeners: [listener("l", port)],
      routes: [
        route("dead", ["dead"], { matches: [prefix("/dead")], policies: ["ns/conn"] }),
        route("all", ["a"], { matches: [prefix("/")], policies: ["ns/conn"] }),
      ],
      clusters: [cluster("a", [b.port]), cluster("dead", [dead])],
    }),
    policies,
  });
  return { b, dp, port, url: `http://127.0.0.1:${port}` };
}

Deno.test("connection limit: HTTP/1.1 requests over the limit get 503; every end gives the slot back", async () => {
  const { b, dp, url } = await setup(2);
  try {
    const held = [fetch(`${url}/hold/1`), fetch(`${url}/hold/2`)];
    await until(() => b.arrived === 2, "two held requests");
    assert.equal(inFlight(), 2);
    const refused = await fetch(`${url}/quick`);
    assert.equal(refused.status, 503);
    assert.equal(
      await refused.text(),
      "connection limit reached: 2 requests already in progress from 127.0.0.1\n",
    );
    const log = accessLines().filter((l) => l.path === "/quick").at(-1);
    assert.equal(log?.status, 503);
    assert.match(String(log?.reason), /policy ns\/conn: connection limit: source 127\.0\.0\.1/);
    b.open();
    for (const r of await Promise.all(held)) {
      assert.equal(r.status, 200);
      assert.equal(await r.text(), "done");
    }
    await until(() => inFlight() === 0, "slots released after the responses");

    // Client gone while its request waits upstream: the slot comes back.
    const ac = new AbortController();
    const gone = fetch(`${url}/hold/3`, { signal: ac.signal }).catch(() => null);
    await until(() => b.arrived === 3 && inFlight() === 1, "the request to abandon");
    ac.abort();
    await gone;
    await until(() => inFlight() === 0, "the abandoned request's slot");

    // Upstream failures (502) release too: more of them than the limit, in turn.
    for (let i = 0; i < 4; i++) {
      const r = await fetch(`${url}/dead`);
      assert.equal(r.status, 502, await r.text());
    }
    assert.equal(inFlight(), 0);
    b.open();
  } finally {
    b.open();
    await dp.close();
    await b.close();
  }
});

Deno.test("connection limit: HTTP/2 streams count one each; a WebSocket holds its slot until closed", async () => {
  const http2 = await import("node:http2");
  const { b, dp, port, url } = await setup(2);
  const s = http2.connect(`http://127.0.0.1:${port}`);
  const stream = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const r = s.request({ ":path": path });
      let status = 0;
      let body = "";
      r.on("response", (h) => (status = Number(h[":status"])));
      r.setEncoding("utf8");
      r.on("data", (d: string) => (body += d));
      r.on("end", () => resolve({ status, body }));
      r.on("error", reject);
    });
  try {
    const held = [stream("/hold/a"), stream("/hold/b")];
    await until(() => b.arrived === 2, "two held streams");
    const third = await stream("/quick");
    assert.equal(third.status, 503, "a third stream on the same connection is over the limit");
    assert.match(third.body, /^connection limit reached: 2 requests/);
    b.open();
    assert.deepEqual((await Promise.all(held)).map((r) => r.status), [200, 200]);
    await until(() => inFlight() === 0, "h2 slots released");

    // A stream the client resets while it waits upstream gives its slot back.
    const reset = s.request({ ":path": "/hold/reset" });
    reset.on("error", () => {});
    await until(() => b.arrived === 3 && inFlight() === 1, "the stream to reset");
    reset.close(http2.constants.NGHTTP2_CANCEL);
    await until(() => inFlight() === 0, "the reset stream's slot");

    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    await new Promise<void>((ok, fail) => {
      ws.onopen = () => ok();
      ws.onerror = () => fail(new Error("websocket did not open"));
    });
    const echoed = new Promise<string>((r) => (ws.onmessage = (e) => r(String(e.data))));
    ws.send("ping");
    assert.equal(await echoed, "ping");
    assert.equal(inFlight(), 1, "the open WebSocket holds one slot");
    const one = fetch(`${url}/hold/c`);
    await until(() => b.arrived === 4, "a request next to the WebSocket");
    assert.equal((await fetch(`${url}/quick`)).status, 503, "WebSocket + request = the limit");
    b.open();
    assert.equal((await one).status, 200);
    const closed = new Promise((r) => (ws.onclose = r));
    ws.close();
    await closed;
    await until(() => inFlight() === 0, "the WebSocket's slot after close");
    const after = fetch(`${url}/after`);
    await until(() => b.arrived === 5, "a request after the WebSocket closed");
    b.open();
    assert.equal((await after).status, 200);
    await (await after).body?.cancel();
  } finally {
    b.open();
    s.close();
    await dp.close();
    await b.close();
  }
});

Deno.test("connection limit: one count for the agent across 2 worker threads", async () => {
  const b = gatedBackend();
  const port = freePort();
  const dp = new DataPlane({ workers: 2, accessLog: false });
  try {
    await dp.apply({
      ...snapshot({
        listeners: [listener("wl", port)],
        routes: [route("wr", ["c"], { policies: ["ns/conn"] })],
        clusters: [cluster("c", [b.port])],
      }),
      policies: [{ name: "ns/conn", targets: [], connectionLimit: { perClientIp: 2 } }],
    });
    // Eight connections (SO_REUSEPORT spreads them over both workers), all held
    // upstream if admitted: per-worker counts would let up to 4 through.
    let settled = 0;
    const answers = Array.from({ length: 8 }, (_, i) =>
      rawExchange(
        port,
        `GET /hold/${i} HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n`,
        20_000,
      ).finally(() => settled++));
    await until(() => settled === 6, "six refusals");
    assert.equal(b.arrived, 2, "exactly the limit reached the backend");
    b.open();
    const statuses = (await Promise.all(answers)).map((r) => r.slice(9, 12)).sort();
    assert.deepEqual(statuses, ["200", "200", ...Array(6).fill("503")]);
  } finally {
    b.open();
    await dp.close();
    await b.close();
  }
});

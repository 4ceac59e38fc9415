import assert from "node:assert/strict";
import { backend, cluster, prefix, route, simpleProxy } from "../_helpers.ts";
import type { Retry } from "../../../src/snapshot/types.ts";

/** Retry plan of the Gateway API translation: connect errors, resets and backend timeouts. */
function retry(on: string[]): Retry {
  return {
    attempts: 1,
    codes: [],
    perTryTimeoutMs: 0,
    backoffMs: 0,
    retryNonIdempotent: false,
    on,
  };
}

Deno.test('retry on "timeout": a try that reaches the backendRequest timeout is retried (HTTPRouteRetryBackendTimeout)', async () => {
  let calls = 0;
  const stalls: Array<() => void> = [];
  // The first call of each request never answers (until the test ends); the second does.
  const b = backend(() => {
    calls++;
    if (calls % 2 === 1) {
      return new Promise<Response>((r) => stalls.push(() => r(new Response("late"))));
    }
    return new Response("ok");
  });
  const timeouts = { requestMs: 0, backendRequestMs: 200 };
  const { dp, url } = await simpleProxy(
    [cluster("c", [b.port])],
    [
      route("with", ["c"], {
        matches: [prefix("/with")],
        timeouts,
        retry: retry(["connect-failure", "reset", "timeout"]),
      }),
      route("without", ["c"], {
        matches: [prefix("/without")],
        timeouts,
        retry: retry(["connect-failure", "reset"]),
      }),
    ],
  );
  try {
    calls = 0;
    let r = await fetch(`${url}/with`);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), "ok");
    assert.equal(calls, 2, "the timed-out try was retried once");
    calls = 0;
    r = await fetch(`${url}/without`);
    assert.equal(r.status, 504, "without timeout in retryOn the backend timeout is final");
    await r.body?.cancel();
    assert.equal(calls, 1);
  } finally {
    for (const s of stalls) s();
    await dp.close();
    await b.close();
  }
});

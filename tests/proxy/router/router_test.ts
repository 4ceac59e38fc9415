import assert from "node:assert/strict";
import { compileRouter } from "../../../src/proxy/router/router.ts";
import { routerContract } from "./contract.ts";
import { prefix, req, route } from "./helpers.ts";

routerContract("compileRouter", compileRouter);

Deno.test("compileRouter: router is frozen", () => {
  const r = compileRouter([route("ns/a/0")]);
  assert.ok(Object.isFrozen(r));
});

Deno.test("compileRouter: returns the same result object on repeated matches (no allocation)", () => {
  const r = compileRouter([route("ns/a/0", { matches: [{ path: prefix("/a") }] })]);
  const x = r.match(req("h", "/a/b"));
  assert.ok(x !== null);
  assert.equal(r.match(req("h", "/a/c")), x);
});

Deno.test("compileRouter: 10,000 host-distinct routes each resolve to their own route", () => {
  const routes = [];
  for (let i = 0; i < 10_000; i++) {
    routes.push(route(`ns/r${i}/0`, {
      hostnames: [`h${i}.example.com`],
      matches: [{ path: prefix(`/svc${i % 50}`) }],
    }));
  }
  const r = compileRouter(routes);
  assert.equal(r.size, 10_000);
  for (let i = 0; i < 10_000; i += 97) {
    assert.equal(r.match(req(`h${i}.example.com`, `/svc${i % 50}/x`))?.route.name, `ns/r${i}/0`);
    assert.equal(r.match(req(`h${i}.example.com`, `/svc${(i + 1) % 50}/x`)), null);
  }
});

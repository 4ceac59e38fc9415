import assert from "node:assert/strict";
import {
  modifyPath,
  replacePrefixMatch,
  rewriteHost,
  rewritePath,
} from "../../../src/proxy/filters/mod.ts";

// The Gateway API HTTPPathModifier ReplacePrefixMatch table, verbatim.
const SPEC: [string, string, string, string][] = [
  ["/foo/bar", "/foo", "/xyz", "/xyz/bar"],
  ["/foo/bar", "/foo", "/xyz/", "/xyz/bar"],
  ["/foo/bar", "/foo/", "/xyz", "/xyz/bar"],
  ["/foo/bar", "/foo/", "/xyz/", "/xyz/bar"],
  ["/foo", "/foo", "/xyz", "/xyz"],
  ["/foo/", "/foo", "/xyz", "/xyz/"],
  ["/foo/bar", "/foo", "", "/bar"],
  ["/foo/", "/foo", "", "/"],
  ["/foo", "/foo", "", "/"],
  ["/foo/", "/foo", "/", "/"],
  ["/foo", "/foo", "/", "/"],
];

const EXTRA: [string, string, string, string][] = [
  ["/", "/", "/xyz", "/xyz/"], // like "/foo/" under "/foo": the trailing "/" is kept
  ["/a/b", "/", "/xyz", "/xyz/a/b"],
  ["/a/b", "/", "/xyz/", "/xyz/a/b"],
  ["/a/b", "/", "/", "/a/b"],
  ["/foo/bar/baz/", "/foo/bar", "/x", "/x/baz/"],
  ["/foobar", "/foo", "/xyz", "/foobar"], // not a segment match: unchanged
  ["/other", "/foo", "/xyz", "/other"],
];

for (const [path, prefix, repl, want] of [...SPEC, ...EXTRA]) {
  Deno.test(`replacePrefixMatch: ${path} prefix ${prefix} → "${repl}" = ${want}`, () => {
    assert.equal(replacePrefixMatch(path, prefix, repl), want);
  });
}

Deno.test("modifyPath: ReplaceFullPath ignores the request path", () => {
  assert.equal(modifyPath("/a/b/c", { type: "ReplaceFullPath", value: "/new" }, "/a"), "/new");
  assert.equal(modifyPath("/a", { type: "ReplaceFullPath", value: "" }, undefined), "/");
});

Deno.test("modifyPath: ReplacePrefixMatch without a matched prefix leaves the path", () => {
  assert.equal(modifyPath("/a/b", { type: "ReplacePrefixMatch", value: "/x" }, undefined), "/a/b");
});

Deno.test("rewritePath / rewriteHost: URLRewrite filter", () => {
  const rw = {
    hostname: "internal.svc",
    path: { type: "ReplacePrefixMatch" as const, value: "/v2" },
  };
  assert.equal(rewritePath(rw, "/v1/users", "/v1"), "/v2/users");
  assert.equal(rewriteHost(rw), "internal.svc");
  assert.equal(rewritePath({ hostname: "" }, "/v1/users", "/v1"), "/v1/users");
  assert.equal(rewriteHost({ hostname: "" }), null);
});

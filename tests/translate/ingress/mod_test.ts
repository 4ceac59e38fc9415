import assert from "node:assert/strict";
import type { KubeObject } from "../../../src/store/types.ts";
import type { Translation } from "../../../src/translate/gateway_api/mod.ts";
import { nginxRegexLocation, translateIngress } from "../../../src/translate/ingress/mod.ts";
import { compileFullMatch } from "../../../src/proxy/router/regex.ts";

const CLASS: KubeObject = {
  apiVersion: "networking.k8s.io/v1",
  kind: "IngressClass",
  metadata: { name: "novaedge" },
  spec: { controller: "novaedge.io/ingress-controller" },
};
const SERVICE: KubeObject = {
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "web", namespace: "shop" },
  spec: { ports: [{ name: "http", port: 80 }] },
};

function ingress(
  name: string,
  annotations: Record<string, string>,
  paths: { path: string; pathType: string }[],
): KubeObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name, namespace: "shop", generation: 1, annotations },
    spec: {
      ingressClassName: "novaedge",
      rules: [{
        host: "a.example.com",
        http: {
          paths: paths.map((p) => ({
            ...p,
            backend: { service: { name: "web", port: { number: 80 } } },
          })),
        },
      }],
    },
  };
}

/** Translates one Ingress `name` (with the class and Service above). */
function translateWith(
  name: string,
  annotations: Record<string, string>,
  paths: { path: string; pathType: string }[],
): Translation {
  return translateIngress([CLASS, SERVICE, ingress(name, annotations, paths)]);
}

/** The path matches of the ProxyRoute generated for `a.example.com`, in rule order. */
function pathMatches(objects: readonly KubeObject[]): { type: string; value: string }[] {
  const route = objects.find((o) =>
    o.kind === "ProxyRoute" && o.metadata.name.endsWith("-a.example.com")
  );
  assert.ok(route, "no ProxyRoute for a.example.com");
  const rules =
    (route.spec as { rules: { matches: { path: { type: string; value: string } }[] }[] })
      .rules;
  return rules.map((r) => r.matches[0].path);
}

/**
 * The proxy router's matcher for the one path `path` of a use-regex Ingress:
 * does the generated RegularExpression match a request path as served?
 */
function useRegexRoutes(path: string): (requestPath: string) => boolean {
  const t = translateWith("r", { "nginx.ingress.kubernetes.io/use-regex": "true" }, [
    { path, pathType: "ImplementationSpecific" },
  ]);
  const [m] = pathMatches(t.objects);
  assert.equal(m.type, "RegularExpression");
  const re = compileFullMatch(m.value);
  return (requestPath) => re.test(requestPath);
}

Deno.test("use-regex: a path without regex characters is an nginx regex prefix (/plain matches /plainfoo)", () => {
  // ingress-nginx: location ~* "^/plain"
  const routes = useRegexRoutes("/plain");
  assert.ok(routes("/plainfoo"));
  assert.ok(routes("/plain"));
  assert.ok(routes("/plain/x"));
  assert.ok(routes("/PLAIN/x"), "ingress-nginx regex locations are case-insensitive");
  assert.ok(!routes("/x/plain"), "matched from the start of the path only");
  assert.ok(!routes("/pla"));
});

Deno.test("use-regex: a top-level | stays inside the prefix (/a|/b matches /a/x)", () => {
  const routes = useRegexRoutes("/a|/b");
  assert.ok(routes("/a/x"), "the first alternative must get the .* suffix too");
  assert.ok(routes("/b/x"));
  assert.ok(routes("/a"));
  assert.ok(!routes("/c/a"));
});

Deno.test("nginxRegexLocation keeps anchors, classes and capture groups meaning what they meant", () => {
  const re = (p: string) => compileFullMatch(nginxRegexLocation(p));
  assert.ok(re("/users/[0-9]+").test("/users/42/orders"));
  assert.ok(!re("/users/[0-9]+").test("/users/me"));
  assert.ok(re("/exact$").test("/exact"));
  assert.ok(!re("/exact$").test("/exactly"), "a $ inside the group still ends the match");
  assert.ok(re("^/start").test("/start/x"));
  // Capture groups keep their numbers (the wrapping group does not capture).
  assert.equal("/a/b".replace(new RegExp(nginxRegexLocation("/(a)/(b)")), "$2$1"), "ba");
});

Deno.test("Prefix paths and paths outside regex mode stay segment prefixes", () => {
  const t = translateWith("p", {}, [
    { path: "/plain", pathType: "ImplementationSpecific" },
    { path: "/pre", pathType: "Prefix" },
  ]);
  assert.deepEqual(pathMatches(t.objects), [
    { type: "PathPrefix", value: "/plain" },
    { type: "PathPrefix", value: "/pre" },
  ]);
});

Deno.test("rewrite-target (no captures) on a regex path replaces the whole path; one not starting with / is reported", () => {
  const t = translateWith("rw", {
    "nginx.ingress.kubernetes.io/use-regex": "true",
    "nginx.ingress.kubernetes.io/rewrite-target": "relative",
  }, [{ path: "/api/v[12]", pathType: "ImplementationSpecific" }]);
  const route = t.objects.find((o) => o.kind === "ProxyRoute")!;
  const rule = (route.spec as { rules: { filters?: unknown[] }[] }).rules[0];
  assert.equal(rule.filters, undefined, "an invalid target must not become a filter");
  const d = t.diagnostics.find((x) => x.source === "Ingress/shop/rw");
  assert.equal(d?.field, 'metadata.annotations["nginx.ingress.kubernetes.io/rewrite-target"]');
  assert.match(d?.message ?? "", /must start with "\/"/);
});

Deno.test("an auth-secret that does not exist fails the Ingress closed and is reported on the annotation", () => {
  const t = translateWith("locked", {
    "nginx.ingress.kubernetes.io/auth-type": "basic",
    "nginx.ingress.kubernetes.io/auth-secret": "no-such-secret",
  }, [{ path: "/", pathType: "Prefix" }]);
  assert.deepEqual(
    t.objects.filter((o) =>
      o.metadata.annotations?.["novaedge.io/source"] === "Ingress/shop/locked"
    ),
    [],
    "nothing may be served without the protection asked for",
  );
  const status = t.statuses.find((s) => s.ref.name === "locked")!;
  const conds = status.status.conditions;
  assert.deepEqual(
    conds.map((c) => [c.type, c.status, c.reason]),
    [["Accepted", "False", "AccessControlNotApplied"], [
      "AnnotationsSupported",
      "False",
      "UnsupportedAnnotations",
    ]],
  );
  const d = t.diagnostics.filter((x) => x.source === "Ingress/shop/locked");
  assert.equal(d.length, 1);
  assert.equal(d[0].field, 'metadata.annotations["nginx.ingress.kubernetes.io/auth-secret"]');
  assert.match(d[0].message, /Secret shop\/no-such-secret does not exist/);
});

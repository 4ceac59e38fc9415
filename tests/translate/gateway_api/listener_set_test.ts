/**
 * ListenerSets end to end through the pipeline (translator + snapshot builder):
 * a ListenerSet's certificateRefs are checked as the ListenerSet's — in the
 * builder too, which sees only the Gateway's generated ProxyGateway — the
 * Gateway's client-certificate validation reaches the listeners ListenerSets
 * add, and mixed TLS modes across ListenerSets are refused. The inputs are the
 * golden cases' (tests/golden/translate/gateway_api/listener_set_*.in.yaml), so
 * the goldens show the translator's statuses and this shows what is served.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import type { KubeObject, ObjectStatus } from "../../../src/store/types.ts";
import { runPipeline } from "../../../src/snapshot/mod.ts";
import { buildSnapshot } from "../../../src/snapshot/build.ts";
import { translate } from "../../../src/translate/mod.ts";
import type { GatewayApiOptions } from "../../../src/translate/gateway_api/mod.ts";

const GOLDEN = new URL("../../golden/translate/gateway_api/", import.meta.url);

function golden(name: string): { objects: KubeObject[]; options: GatewayApiOptions } {
  const objects: KubeObject[] = [];
  let options: GatewayApiOptions = {};
  for (const doc of parseAllDocuments(Deno.readTextFileSync(new URL(`${name}.in.yaml`, GOLDEN)))) {
    const v = doc.toJS();
    if (v === null || v === undefined) continue;
    if (v.kind === "TranslateOptions") options = v.options as GatewayApiOptions;
    else objects.push(v as KubeObject);
  }
  return { objects, options };
}

type Cond = { type: string; status: string; reason: string };
type ListenerOut = { name: string; conditions: Cond[] };

function listenerConds(
  statuses: readonly ObjectStatus[],
  kind: string,
  ns: string,
  name: string,
  listener: string,
): Record<string, string> {
  const s = statuses.find((x) =>
    x.ref.kind === kind && x.ref.namespace === ns && x.ref.name === name
  );
  assert.ok(s, `no status for ${kind}/${ns}/${name}`);
  const l = ((s.status as { listeners?: ListenerOut[] }).listeners ?? []).find((x) =>
    x.name === listener
  );
  assert.ok(l, `no listener ${listener} in ${kind}/${ns}/${name}`);
  return Object.fromEntries(l.conditions.map((c) => [c.type, `${c.status}/${c.reason}`]));
}

const served = (r: { snapshot: { listeners: readonly { name: string }[] } }) =>
  r.snapshot.listeners.map((l) => l.name).sort();

Deno.test("ListenerSet certificateRefs are the ListenerSet's: served as the spec allows", () => {
  const { objects, options } = golden("listener_set_tls_refs");
  const r = runPipeline(objects, { gatewayApi: options });
  // Own namespace (no grant) and a grant naming the ListenerSet: served, with their Secrets.
  const byName = new Map(r.snapshot.listeners.map((l) => [l.name, l]));
  assert.deepEqual(byName.get("infra/gw-gw/ls-team-b-team-own-ns")?.tls?.certificates, [
    "team-b/cert",
  ]);
  assert.deepEqual(byName.get("infra/gw-gw/ls-team-b-team-ls-granted")?.tls?.certificates, [
    "certs-ls/cert",
  ]);
  // The Gateway's namespace, the Gateway's grant, the ListenerSet's grant for the Gateway's
  // own listener: never served.
  assert.deepEqual(served(r), [
    "infra/gw-gw/ls-team-b-team-ls-granted",
    "infra/gw-gw/ls-team-b-team-own-ns",
  ]);
  for (const [ns, set, l] of [["team-b", "team", "own-ns"], ["team-b", "team", "ls-granted"]]) {
    const c = listenerConds(r.statuses, "ListenerSet", ns, set, l);
    assert.equal(c.ResolvedRefs, "True/ResolvedRefs", l);
    assert.equal(c.Programmed, "True/Programmed", l);
  }
  for (
    const [kind, ns, name, l] of [
      ["ListenerSet", "team-b", "team", "gateway-ns"],
      ["ListenerSet", "team-b", "team", "gateway-granted"],
      ["ListenerSet", "infra", "local", "local-gateway-granted"],
      ["Gateway", "infra", "gw", "gw-ls-granted"],
    ]
  ) {
    const c = listenerConds(r.statuses, kind, ns, name, l);
    assert.equal(c.ResolvedRefs, "False/RefNotPermitted", l);
    assert.equal(c.Programmed.startsWith("False/"), true, l);
  }
  // The builder found nothing to refuse that the translator had accepted.
  assert.deepEqual(
    r.diagnostics.filter((d) => /ReferenceGrant/.test(d.message) && d.source.startsWith("Proxy")),
    [],
  );
});

Deno.test("only the translator's own ProxyGateway acts for a ListenerSet: a copy acts as its Gateway", () => {
  const { objects, options } = golden("listener_set_tls_refs");
  const t = translate(objects, { gatewayApi: options });
  // The same object, copied (as a hand-written ProxyGateway claiming the same source would be).
  const copied = t.objects.map((o) => o.kind === "ProxyGateway" ? structuredClone(o) : o);
  const b = buildSnapshot(copied);
  assert.deepEqual(b.snapshot.listeners.map((l) => l.name), []);
  const refused = b.diagnostics.filter((d) =>
    d.source === "ProxyGateway/infra/gw-gw" && /no ReferenceGrant allows it/.test(d.message)
  ).map((d) => d.message.replace(/:.*/, ""));
  assert.deepEqual(refused.sort(), [
    "listener ls-team-b-team-ls-granted",
    "listener ls-team-b-team-own-ns",
  ]);
  // The original objects: both served.
  assert.equal(buildSnapshot(t.objects).snapshot.listeners.length, 2);
});

Deno.test("the Gateway's frontend validation covers a ListenerSet's HTTPS listeners", () => {
  const { objects, options } = golden("listener_set_frontend_tls");
  const r = runPipeline(objects, { gatewayApi: options });
  const l = r.snapshot.listeners.find((x) => x.name === "infra/gw-gw/ls-team-b-team-https-443");
  assert.ok(l?.tls?.clientValidation, "listener served without client validation");
  assert.equal(l.tls.clientValidation.mode, "AllowValidOnly");
  assert.match(l.tls.clientValidation.caPem, /BEGIN CERTIFICATE/);
  // An unusable CA for 8443: the listener is not served at all (fail closed).
  assert.equal(r.snapshot.listeners.some((x) => x.port === 8443), false);
  const c = listenerConds(r.statuses, "ListenerSet", "team-b", "team", "https-8443");
  assert.equal(c.Accepted, "False/NoValidCACertificate");
  assert.equal(c.ResolvedRefs, "False/InvalidCACertificateRef");
});

Deno.test("mixed TLS modes across ListenerSets: the later listener is refused, not served", () => {
  const { objects, options } = golden("listener_set_tls_modes");
  const r = runPipeline(objects, { gatewayApi: options });
  assert.deepEqual(served(r), [
    "infra/gw-gw/gw-passthrough",
    "infra/gw-gw/ls-infra-first-passthrough-8443",
    "infra/gw-gw/ls-infra-first-passthrough-9443",
    "infra/gw-gw/ls-team-b-second-terminate-9444",
  ]);
  for (
    const [ns, set, l, reason] of [
      ["infra", "first", "terminate-8443", "ProtocolConflict"],
      ["infra", "first", "https-same-host", "HostnameConflict"],
      ["team-b", "second", "terminate-9443", "ProtocolConflict"],
    ]
  ) {
    const c = listenerConds(r.statuses, "ListenerSet", ns, set, l);
    assert.equal(c.Accepted, `False/${reason}`, l);
    assert.equal(c.Conflicted, `True/${reason}`, l);
  }
  // The listeners of higher precedence keep their port, unconflicted.
  assert.equal(
    listenerConds(r.statuses, "ListenerSet", "infra", "first", "passthrough-9443").Conflicted,
    "False/NoConflicts",
  );
  assert.equal(
    listenerConds(r.statuses, "Gateway", "infra", "gw", "gw-passthrough").Conflicted,
    "False/NoConflicts",
  );
  // With TLSRouteModeMixed advertised, the same listeners are all served.
  const mixed = runPipeline(objects, {
    gatewayApi: {
      ...options,
      supportedFeatures: [...(options.supportedFeatures ?? []), "TLSRouteModeMixed"],
    },
  });
  assert.equal(served(mixed).includes("infra/gw-gw/ls-infra-first-terminate-8443"), true);
  assert.equal(served(mixed).includes("infra/gw-gw/ls-team-b-second-terminate-9443"), true);
});

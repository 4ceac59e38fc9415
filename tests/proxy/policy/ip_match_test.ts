import assert from "node:assert/strict";
import { IpMatcher, parseCidr, parseIp } from "../../../src/proxy/policy/ip_match.ts";

function words(addr: string): number[] | null {
  const w = new Uint32Array(4);
  return parseIp(addr, w) < 0 ? null : [...w];
}

Deno.test("parseIp: IPv4, IPv6 forms and malformed input", () => {
  const table: [string, number[] | null][] = [
    ["10.1.2.3", [0, 0, 0xffff, 0x0a010203]],
    ["255.255.255.255", [0, 0, 0xffff, 0xffffffff]],
    ["::ffff:10.1.2.3", [0, 0, 0xffff, 0x0a010203]],
    ["::FFFF:a01:203", [0, 0, 0xffff, 0x0a010203]],
    ["::1", [0, 0, 0, 1]],
    ["::", [0, 0, 0, 0]],
    ["[::1]", [0, 0, 0, 1]],
    ["fe80::1%eth0", [0xfe800000, 0, 0, 1]],
    ["2001:db8::", [0x20010db8, 0, 0, 0]],
    ["2001:db8:0:0:1:0:0:1", [0x20010db8, 0, 0x10000, 1]],
    ["2001:db8::1:0:0:1", [0x20010db8, 0, 0x10000, 1]],
    ["1:2:3:4:5:6:7:8", [0x10002, 0x30004, 0x50006, 0x70008]],
    ["1:2:3:4:5:6:1.2.3.4", [0x10002, 0x30004, 0x50006, 0x01020304]],
    // malformed
    ["", null],
    ["1.2.3", null],
    ["1.2.3.4.5", null],
    ["256.1.1.1", null],
    ["01.2.3.4", null],
    ["1.2.3.-4", null],
    ["a.b.c.d", null],
    [":::", null],
    ["1::2::3", null],
    ["1:2:3:4:5:6:7:8:9", null],
    ["1:2:3:4:5:6:7", null],
    ["12345::", null],
    ["g::1", null],
    [":1:2:3:4:5:6:7", null],
    ["1:2:3:4:5:6:7:", null],
    ["::1.2.3", null],
    ["1.2.3.4::", null],
    ["unknown", null],
  ];
  for (const [addr, want] of table) assert.deepEqual(words(addr), want, addr);
});

Deno.test("parseCidr: prefix lengths and validation", () => {
  assert.notEqual(parseCidr("10.0.0.0/8"), null);
  assert.notEqual(parseCidr("10.0.0.0/0"), null);
  assert.notEqual(parseCidr("10.1.2.3/32"), null);
  assert.notEqual(parseCidr("2001:db8::/32"), null);
  assert.notEqual(parseCidr("::/0"), null);
  assert.notEqual(parseCidr("10.1.2.3"), null, "bare address = host");
  assert.equal(parseCidr("10.0.0.0/33"), null);
  assert.equal(parseCidr("::/129"), null);
  assert.equal(parseCidr("10.0.0.0/"), null);
  assert.equal(parseCidr("10.0.0.0/-1"), null);
  assert.equal(parseCidr("10.0.0.0/8x"), null);
  assert.equal(parseCidr("nonsense/8"), null);
});

Deno.test("IpMatcher: IPv4, IPv6 and IPv4-mapped matching", () => {
  const m = new IpMatcher([
    "10.0.0.0/8",
    "192.168.1.128/25",
    "2001:db8:abcd::/48",
    "::1/128",
    "bad-entry",
  ]);
  assert.deepEqual(m.invalid, ["bad-entry"]);
  const table: [string, boolean][] = [
    ["10.0.0.0", true],
    ["10.255.255.255", true],
    ["11.0.0.0", false],
    ["9.255.255.255", false],
    ["::ffff:10.9.8.7", true],
    ["::ffff:11.9.8.7", false],
    ["192.168.1.128", true],
    ["192.168.1.255", true],
    ["192.168.1.127", false],
    ["2001:db8:abcd::1", true],
    ["2001:db8:abcd:ffff:ffff:ffff:ffff:ffff", true],
    ["2001:db8:abce::", false],
    ["::1", true],
    ["[::1]", true],
    ["::2", false],
    // IPv4 CIDRs never match native IPv6 addresses outside ::ffff:0:0/96.
    ["::a00:1", false],
    ["garbage", false],
    ["", false],
  ];
  for (const [addr, want] of table) assert.equal(m.matches(addr), want, addr);
});

Deno.test("IpMatcher: /0 covers its family only; IPv4 /0 is ::ffff:0:0/96", () => {
  const v4all = new IpMatcher(["0.0.0.0/0"]);
  assert.equal(v4all.matches("1.2.3.4"), true);
  assert.equal(v4all.matches("::ffff:1.2.3.4"), true);
  assert.equal(v4all.matches("2001:db8::1"), false);
  const v6all = new IpMatcher(["::/0"]);
  assert.equal(v6all.matches("2001:db8::1"), true);
  assert.equal(v6all.matches("1.2.3.4"), true);
  const mapped = new IpMatcher(["::ffff:10.0.0.0/104"]);
  assert.equal(mapped.matches("10.20.30.40"), true);
  assert.equal(mapped.matches("11.0.0.1"), false);
});

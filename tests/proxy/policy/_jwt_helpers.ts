/** Test helpers: key pairs, JWKS and signed tokens made with WebCrypto. */

export function b64url(data: Uint8Array | string): string {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export interface Signer {
  readonly alg: string;
  readonly kid: string;
  readonly jwk: JsonWebKey & { kid: string };
  sign(header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string>;
}

async function makeSigner(
  alg: string,
  kid: string,
  gen: RsaHashedKeyGenParams | EcKeyGenParams | HmacKeyGenParams,
  sigAlg: AlgorithmIdentifier | EcdsaParams,
): Promise<Signer> {
  const k = await crypto.subtle.generateKey(gen, true, ["sign", "verify"]);
  const priv = "privateKey" in k ? k.privateKey : k;
  const pub = "publicKey" in k ? k.publicKey : k;
  const jwk = { ...(await crypto.subtle.exportKey("jwk", pub)), kid };
  delete jwk.key_ops;
  delete jwk.ext;
  return {
    alg,
    kid,
    jwk,
    async sign(header, payload) {
      const input = `${b64url(JSON.stringify({ alg, kid, typ: "JWT", ...header }))}.${
        b64url(JSON.stringify(payload))
      }`;
      const sig = new Uint8Array(
        await crypto.subtle.sign(sigAlg, priv, new TextEncoder().encode(input)),
      );
      return `${input}.${b64url(sig)}`;
    },
  };
}

export function rs256(kid = "rsa1"): Promise<Signer> {
  return makeSigner("RS256", kid, {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: "SHA-256",
  }, { name: "RSASSA-PKCS1-v1_5" });
}

export function es256(kid = "ec1"): Promise<Signer> {
  return makeSigner("ES256", kid, { name: "ECDSA", namedCurve: "P-256" }, {
    name: "ECDSA",
    hash: "SHA-256",
  });
}

export function hs256(kid = "hmac1"): Promise<Signer> {
  return makeSigner("HS256", kid, { name: "HMAC", hash: "SHA-256", length: 256 }, {
    name: "HMAC",
  });
}

export function jwks(...signers: Signer[]): string {
  return JSON.stringify({ keys: signers.map((s) => s.jwk) });
}

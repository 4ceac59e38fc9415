/** What both HTTP/2 engines (ours and the node:http2 fallback) do with a request head. */
import type { Hdrs } from "../core/headers.ts";
import type { ProxyRequest, ProxyResponse } from "../core/types.ts";
import { generated, handleRequest, type SocketConfig } from "../core/proxy.ts";

/**
 * RFC 8441: an extended CONNECT for WebSocket is proxied as an HTTP/1.1
 * GET + Upgrade. The h2 request carries no key; the upstream handshake needs one.
 */
export function asWebSocketUpgrade(hdrs: Hdrs): void {
  hdrs.set(
    "sec-websocket-key",
    btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16)))),
  );
  if (!hdrs.has("sec-websocket-version")) hdrs.set("sec-websocket-version", "13");
  hdrs.set("upgrade", "websocket");
}

/** Routes and proxies the request; a plain CONNECT (not RFC 8441) is answered 501. */
export function dispatch(cfg: SocketConfig, req: ProxyRequest): Promise<ProxyResponse> {
  if (req.method === "CONNECT") {
    return Promise.resolve(
      generated(
        cfg,
        req,
        501,
        "CONNECT is only supported for WebSocket (RFC 8441 :protocol websocket)",
        null,
      ),
    );
  }
  return handleRequest(cfg, req);
}

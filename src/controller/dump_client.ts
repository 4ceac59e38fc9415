/**
 * Client half of `novaedge snapshot dump --controller ADDR [--node NAME]`: one
 * authenticated GetSnapshot call. The answer has private keys redacted and
 * lists the agents connected to the replica that answered, with the version
 * each one serves.
 */
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import {
  GET_SNAPSHOT_PATH,
  MAX_MESSAGE_BYTES,
  pemBuffer,
  serializeGetSnapshotRequest,
  tlsNameFor,
} from "./service.ts";
import { decodeGetSnapshotResponse, type GetSnapshotResponse } from "./wire.ts";

export interface DumpOptions {
  readonly address: string;
  readonly node: string;
  readonly caPem: string;
  readonly token: string;
  readonly serverName?: string;
  readonly timeoutMs?: number;
}

/** Ask a controller for `node`'s snapshot. Rejects with the gRPC status text on failure. */
export function fetchSnapshotFromController(opts: DumpOptions): Promise<GetSnapshotResponse> {
  const options: grpc.ChannelOptions = { "grpc.max_receive_message_length": MAX_MESSAGE_BYTES };
  const tlsName = tlsNameFor(opts.address, opts.serverName);
  if (tlsName) {
    options["grpc.ssl_target_name_override"] = tlsName;
    options["grpc.default_authority"] = tlsName;
  }
  const client = new grpc.Client(
    opts.address,
    grpc.credentials.createSsl(pemBuffer(opts.caPem)),
    options,
  );
  return new Promise<GetSnapshotResponse>((resolve, reject) => {
    client.makeUnaryRequest(
      GET_SNAPSHOT_PATH,
      serializeGetSnapshotRequest,
      (b: Buffer) => decodeGetSnapshotResponse(b),
      { node: opts.node, token: opts.token },
      new grpc.Metadata(),
      { deadline: Date.now() + (opts.timeoutMs ?? 10_000) },
      (err: grpc.ServiceError | null, value?: GetSnapshotResponse) => {
        if (err) {
          reject(
            new Error(`controller ${opts.address}: ${grpc.status[err.code]}: ${err.details}`),
          );
        } else if (value) resolve(value);
        else reject(new Error(`controller ${opts.address}: empty answer`));
      },
    );
  }).finally(() => client.close());
}

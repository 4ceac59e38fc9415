/**
 * The gRPC backend for benchmarks and the grpcurl test: bench.Echo/Say over
 * h2c on 127.0.0.1:PORT, echoing the request message (bench/echo.proto).
 *   deno run -A bench/grpc_backend.ts <port>
 */
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";

const port = Number(Deno.args[0] ?? "18085");
const raw = (b: Buffer) => b;
const service: grpc.ServiceDefinition = {
  Say: {
    path: "/bench.Echo/Say",
    requestStream: false,
    responseStream: false,
    requestSerialize: raw,
    requestDeserialize: raw,
    responseSerialize: raw,
    responseDeserialize: raw,
  },
};
const server = new grpc.Server();
server.addService(service, {
  Say: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
    cb(null, call.request),
});
server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
  if (err) {
    console.error(`grpc backend: ${err.message}`);
    Deno.exit(1);
  }
  console.log(`grpc backend ready on ${bound}`);
});

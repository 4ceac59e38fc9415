/**
 * The nginx configuration every benchmark compares against: 1 worker, access
 * log off, upstream keep-alive (HTTP/1.1 to the bench backend, and gRPC to
 * the gRPC backend when given). One definition, so bench/run.ts and the A/B
 * tools in bench/profile measure the same nginx.
 */
export interface NginxBench {
  /** Working directory (pid, error log, temp paths). */
  readonly dir: string;
  /** `listen` arguments, e.g. "127.0.0.1:8080" or "127.0.0.1:8443 http2". */
  readonly listens: readonly string[];
  readonly backendPort: number;
  readonly grpcBackendPort?: number;
}

export function nginxConf(o: NginxBench): string {
  const d = o.dir;
  const grpc = o.grpcBackendPort !== undefined;
  return `worker_processes 1;
daemon off;
pid ${d}/nginx.pid;
error_log ${d}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${d}; proxy_temp_path ${d}; fastcgi_temp_path ${d};
  uwsgi_temp_path ${d}; scgi_temp_path ${d};
  upstream be { server 127.0.0.1:${o.backendPort}; keepalive 128; keepalive_requests 1000000; }
${
    grpc
      ? `  upstream be_grpc { server 127.0.0.1:${o.grpcBackendPort}; keepalive 128; }\n`
      : ""
  }  keepalive_requests 1000000;
  server {
${o.listens.map((l) => `    listen ${l};\n`).join("")}    location / {
      proxy_pass http://be;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
${grpc ? "    location /bench.Echo/ { grpc_pass grpc://be_grpc; }\n" : ""}  }
}
`;
}

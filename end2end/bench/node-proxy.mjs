// The bench's Node anchor: a plain keep-alive reverse proxy built on the
// npm `http-proxy` package, the kind the SvelteKit proof of concept puts
// in front of its zones (its proxy.js). One process, one upstream, the
// forwarding headers on (`xfwd`), upstream connections kept alive.
//
//   node end2end/bench/node-proxy.mjs <listen-port> <upstream-port>
import http from "node:http";
import httpProxy from "http-proxy";

const [listen, upstream] = process.argv.slice(2).map(Number);
if (!listen || !upstream) {
  console.error("usage: node-proxy.mjs <listen-port> <upstream-port>");
  process.exit(2);
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const proxy = httpProxy.createProxyServer({
  target: `http://127.0.0.1:${upstream}`,
  agent,
  xfwd: true,
});
proxy.on("error", (err, _req, res) => {
  if (!res.headersSent) {
    res.writeHead(502, { "content-type": "text/plain" });
  }
  res.end(`upstream error: ${err.message}\n`);
});

const server = http.createServer((req, res) => proxy.web(req, res));
server.keepAliveTimeout = 65_000;
server.listen(listen, "127.0.0.1", () => {
  console.log(`node proxy on 127.0.0.1:${listen} -> 127.0.0.1:${upstream}`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}

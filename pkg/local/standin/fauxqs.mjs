// Starts fauxqs on loopback only. fauxqs 2.4.1 passes host "0.0.0.0" to Fastify's
// listen() whatever FAUXQS_HOST says (FAUXQS_HOST only shapes queue URLs), and no
// option changes that, so this launcher rewrites the bind address before fauxqs loads.
import net from "node:net";

const bind = process.env.STANDIN_BIND || "127.0.0.1";
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (args[0] && typeof args[0] === "object" && "host" in args[0]) {
    args[0] = { ...args[0], host: bind };
  }
  return listen.apply(this, args);
};

const { startFauxqs } = await import("fauxqs");
const opts = {
  port: Number(process.env.FAUXQS_PORT || 4566),
  host: process.env.FAUXQS_HOST || "localhost",
  logger: false,
};
if (process.env.FAUXQS_DATA_DIR) opts.dataDir = process.env.FAUXQS_DATA_DIR;
const server = await startFauxqs(opts);
console.log(`fauxqs listening on http://${bind}:${server.port}`);
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, async () => {
    await server.stop?.();
    process.exit(0);
  });
}

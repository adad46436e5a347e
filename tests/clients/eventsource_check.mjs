// Node's `eventsource` package (npm, from node_modules/) against status_page's /events, through
// a TCP relay that cuts the connection after two events: the client must reconnect by itself,
// send Last-Event-ID, and get every event it missed meanwhile, in order, with no resync.
// Prints "ok N events" or fails with the reason.
//   node eventsource_check.mjs http://127.0.0.1:PORT
import net from "node:net";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const { EventSource } = createRequire(path.join(root, "package.json"))("eventsource");

const upstream = new URL(process.argv[2]);
const sockets = new Set();
const relay = net.createServer((client) => {
  const server = net.connect(Number(upstream.port), upstream.hostname);
  for (const s of [client, server]) {
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => { sockets.delete(s); client.destroy(); server.destroy(); });
  }
  client.pipe(server);
  server.pipe(client);
});
await new Promise((ok) => relay.listen(0, "127.0.0.1", ok));

const requests = [];  // the Last-Event-ID each (re)connection sent
const events = [];
let cut = false;
const fail = (why) => { console.log("FAIL " + why + "\n" + JSON.stringify({ requests, events })); process.exit(1); };
setTimeout(() => fail("timed out"), 20000);

const source = new EventSource(`http://127.0.0.1:${relay.address().port}/events`, {
  fetch: (url, init) => {
    requests.push(init.headers["Last-Event-ID"] ?? null);
    return fetch(url, init);
  },
});
source.addEventListener("resync", (e) => fail("unexpected resync: " + e.data));
source.addEventListener("status", (e) => {
  const s = JSON.parse(e.data);
  events.push({ id: e.lastEventId, jobs: s.done + s.failed });
  if (events.length === 2 && !cut) {
    cut = true;
    for (const s of sockets) s.destroy();  // the network drops the stream
  }
  if (events.length < 6) return;
  source.close();
  relay.close();
  if (requests.length < 2) fail("never reconnected");
  if (requests[0] !== null) fail("the first request sent a Last-Event-ID");
  if (requests[1] !== events[1].id) fail("the reconnection did not send the last id seen");
  for (let i = 1; i < events.length; ++i) {
    if (BigInt(events[i].id) !== BigInt(events[i - 1].id) + 1n) fail("ids not consecutive at " + i);
    if (events[i].jobs !== events[i - 1].jobs + 1) fail("an update was missed at " + i);
  }
  console.log(`ok ${events.length} events`);
  process.exit(0);
});

// The peer for bench/ws_bench.py: Node's `ws` package (npm, installed by tools/setup.sh) echoing
// every message with its opcode (or, with --broadcast, to every client, as examples/chat does),
// on one thread like porthole's single loop.
//   node bench/ws_node_echo.mjs --port N [--broadcast]   prints "listening on http://127.0.0.1:PORT/"
import { WebSocketServer } from 'ws';

const at = process.argv.indexOf('--port');
const port = at > 0 ? Number(process.argv[at + 1]) : 0;
const server = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });
const broadcast = process.argv.includes('--broadcast');
server.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => {
    if (!broadcast) return socket.send(data, { binary: isBinary });
    for (const client of server.clients) client.send(data, { binary: isBinary });
  });
});
server.on('listening', () => console.log(`listening on http://127.0.0.1:${server.address().port}/`));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));

// Node's `ws` package against examples/echo's /ws: text and binary echoed with their opcode, a
// large message, many in a row, a ping answered, the closing handshake. Prints "ok N checks".
//   node tests/clients/ws_check.mjs ws://127.0.0.1:PORT/ws
import WebSocket from 'ws';

const url = process.argv[2];
let checks = 0;
function check(ok, what) {
  if (!ok) {
    console.log('failed: ' + what);
    process.exit(1);
  }
  ++checks;
}

const ws = new WebSocket(url, { perMessageDeflate: false });
const messages = [];
let waiting = null;
ws.on('message', (data, isBinary) => {
  messages.push({ data, isBinary });
  if (waiting) waiting();
});
function next() {
  if (messages.length) return Promise.resolve(messages.shift());
  return new Promise((resolve) => { waiting = () => { waiting = null; resolve(messages.shift()); }; });
}
const timer = setTimeout(() => { console.log('failed: timeout'); process.exit(1); }, 30000);

ws.on('open', async () => {
  ws.send('hello from node');
  let m = await next();
  check(!m.isBinary && m.data.toString() === 'hello from node', 'text echo');
  const bytes = Buffer.from([0, 1, 2, 250, 255]);
  ws.send(bytes);
  m = await next();
  check(m.isBinary && Buffer.compare(m.data, bytes) === 0, 'binary echo');
  const big = Buffer.alloc(2 * 1024 * 1024, 7);
  ws.send(big);
  m = await next();
  check(m.isBinary && Buffer.compare(m.data, big) === 0, 'large binary echo');
  for (let i = 0; i < 500; ++i) ws.send('m' + i);
  for (let i = 0; i < 500; ++i) {
    m = await next();
    check(m.data.toString() === 'm' + i, 'message ' + i + ' in order');
  }
  const pong = new Promise((resolve) => ws.once('pong', resolve));
  ws.ping('are you there');
  check((await pong).toString() === 'are you there', 'pong carries the ping data');
  ws.close(1000, 'bye');
});
ws.on('close', (code) => {
  check(code === 1000, 'close code ' + code);
  clearTimeout(timer);
  console.log('ok ' + checks + ' checks');
});
ws.on('error', (e) => { console.log('failed: ' + e.message); process.exit(1); });

// chat: a page at / and a WebSocket at /ws; every message a client sends goes to every client
// (itself included), encoded once for all of them.
//   build/examples/chat --port 8080, then open http://127.0.0.1:8080/ in two windows
#include <porthole/porthole.hpp>

namespace {

constexpr std::string_view page = R"html(<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>porthole chat</title>
<style>
  body { font: 15px system-ui, sans-serif; max-width: 40em; margin: 2em auto; }
  #log { border: 1px solid #ccc; height: 20em; overflow-y: auto; padding: .5em; }
  #log p { margin: .2em 0; }
  form { display: flex; gap: .5em; margin-top: .5em; }
  #text { flex: 1; }
</style>
<h1>chat</h1>
<p id="state">connecting…</p>
<div id="log"></div>
<form id="form"><input id="text" autocomplete="off" autofocus><button>send</button></form>
<script>
  const log = document.getElementById('log');
  const state = document.getElementById('state');
  const socket = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
  socket.onopen = () => { state.textContent = 'connected'; };
  socket.onclose = (e) => { state.textContent = 'closed (' + e.code + ')'; };
  socket.onmessage = (e) => {
    const p = document.createElement('p');
    p.textContent = e.data;  // text, never markup
    log.append(p);
    log.scrollTop = log.scrollHeight;
  };
  document.getElementById('form').onsubmit = (e) => {
    e.preventDefault();
    const text = document.getElementById('text');
    if (text.value && socket.readyState === WebSocket.OPEN) socket.send(text.value);
    text.value = '';
  };
</script>
</html>
)html";

}  // namespace

int main(int argc, char** argv) {
    porthole::ws::group everyone;
    porthole::ws::options ws_options;
    ws_options.limits.max_message_size = 64 * 1024;  // chat lines, not files
    porthole::router app{
        porthole::get<"/">(
            [](porthole::request const&) { return porthole::response::static_text(page, "text/html; charset=utf-8"); }),
        porthole::websocket<"/ws">(
            {
                .on_open = [&](porthole::ws::session& s, porthole::request const&) { everyone.add(s.handle()); },
                .on_text = [&](porthole::ws::session&, std::string_view m) { everyone.broadcast_text(m); },
                .on_close = [&](porthole::ws::session& s, porthole::ws::close_code,
                                std::string_view) { everyone.remove(s.handle()); },
            },
            std::move(ws_options)),
    };
    return porthole::serve(app, porthole::server_options::from_command_line(argc, argv));
}

// echo: sends back what it received (see echo_app.hpp); tests use it as a probe. WebSocket at
// /ws: each message comes back with its opcode, text as text, binary as binary.
//   build/examples/echo --port 8080
#include "echo_app.hpp"

#include <porthole/porthole.hpp>

int main(int argc, char** argv) {
    std::atomic<unsigned long> received{0};
    porthole::ws::handlers echo_ws{
        .on_text = [](porthole::ws::session& s, std::string_view m) { s.send_text(m); },
        .on_binary = [](porthole::ws::session& s, std::string_view m) { s.send_binary(m); },
    };
    porthole::ws::options ws_options;
    ws_options.limits.max_message_size = 16 * 1024 * 1024;  // a probe: large messages too
    porthole::router websocket{porthole::websocket<"/ws">(std::move(echo_ws), std::move(ws_options))};
    echo_app http{&received};
    auto app = [&](porthole::request const& req) -> porthole::response {
        if (req.path() == "/ws") return websocket(req);
        return http(req);
    };
    return porthole::serve(app, porthole::options::from_command_line(argc, argv));
}

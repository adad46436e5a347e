// echo: sends back what it received (see echo_app.hpp); tests use it as a probe. WebSocket at
// /ws: each message comes back with its opcode, text as text, binary as binary.
//   build/examples/echo --port 8080 [--gunzip]
// --gunzip: request bodies sent with Content-Encoding: gzip or deflate are decoded first, up to
// the body limit once decoded (a zip bomb gets 413).
#include "echo_app.hpp"

#include <porthole/porthole.hpp>

int main(int argc, char** argv) {
    std::atomic<unsigned long> received{0};
    auto command_line = porthole::server_options::from_command_line(
        argc, argv, {{"--gunzip", "decode gzip and deflate request bodies (built with zlib)"}});
    if (!command_line.ok()) return command_line.report();  // --help, or a malformed value
    auto& opts = command_line.options;
    porthole::ws::handlers echo_ws{
        .on_text = [](porthole::ws::session& s, std::string_view m) { s.send_text(m); },
        .on_binary = [](porthole::ws::session& s, std::string_view m) { s.send_binary(m); },
    };
    porthole::ws::options ws_options;
    ws_options.limits.max_message_size = 16 * 1024 * 1024;  // a probe: large messages too
    porthole::router websocket{porthole::websocket<"/ws">(std::move(echo_ws), std::move(ws_options))};
    auto serve_with = [&](auto http) {
        auto app = [&](porthole::request const& req) -> porthole::response {
            if (req.path() == "/ws") return websocket(req);
            return http(req);
        };
        return porthole::serve(app, std::move(opts));
    };
#if defined(PORTHOLE_WITH_ZLIB)
    if (porthole::command_line_flag(argc, argv, "--gunzip"))
        return serve_with(
            porthole::layers{porthole::request_decompression({.max_body = opts.limits.max_body})}(echo_app{&received}));
#endif
    return serve_with(echo_app{&received});
}

// The WebSocket routes' tests share: an echo application at /ws and /rooms/{room} whose callbacks
// write every event down and keep handles for other threads, the upgrade request, and the frames
// a client reads after the 101.
#pragma once

#include <porthole/porthole.hpp>

#include "websocket_support.hpp"

#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ws_app {

using namespace porthole;
using ws_support::recorded_event;

inline constexpr char const* upgrade_head =
    "GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n";

inline std::string upgrade_request(std::string_view path = "/ws", std::string_view extra = {}) {
    std::string s = upgrade_head;
    s.replace(s.find("{path}"), 6, path);
    s.replace(s.find("{extra}"), 7, extra);
    return s;
}

// What a test's callbacks saw, in order.
struct journal {
    std::mutex mutex;
    std::vector<std::string> lines;
    void add(std::string s) {
        std::lock_guard lock(mutex);
        lines.push_back(std::move(s));
    }
    std::vector<std::string> get() {
        std::lock_guard lock(mutex);
        return lines;
    }
};

// Echo at /ws and /rooms/{room}, every event written down; handles kept for other threads.
struct echo_fixture {
    journal seen;
    std::mutex handles_mutex;
    std::vector<ws::handle> handles;
    ws::options opts;

    ws::handlers handlers() {
        return {
            .on_open =
                [this](ws::session& s, request const& req) {
                    seen.add("open " + std::string(req.param("room")) + " " + std::string(s.param("room")));
                    std::lock_guard lock(handles_mutex);
                    handles.push_back(s.handle());
                },
            .on_text =
                [this](ws::session& s, std::string_view m) {
                    seen.add("text " + std::string(m));
                    if (m == "throw") throw std::runtime_error("asked to");
                    if (m == "bye") s.close(ws::close_code::normal_closure, "bye");
                    else s.send_text(m);
                },
            .on_binary =
                [this](ws::session& s, std::string_view m) {
                    seen.add("binary " + std::string(m));
                    s.send_binary(m);
                },
            .on_close =
                [this](ws::session& s, ws::close_code c, std::string_view reason) {
                    seen.add("close " + std::to_string(ws::to_int(c)) + " " + std::string(reason) + " " +
                             std::string(s.param("room")));
                },
        };
    }
};

inline auto make_app(echo_fixture& f) {
    return router{
        websocket<"/ws">(f.handlers(), f.opts),
        websocket<"/rooms/{room}">(f.handlers(), f.opts),
        get<"/plain">([](request const&) { return response::text("plain\n"); }),
    };
}

// The frames after the 101 in a client's output, as a WebSocket client reads them.
inline std::vector<recorded_event> frames_after_101(std::string const& out) {
    auto at = out.find("\r\n\r\n");
    if (at == std::string::npos) return {};
    return ws_support::read_server_output(std::string_view(out).substr(at + 4));
}

}  // namespace ws_app

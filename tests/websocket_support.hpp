// Helpers shared by the WebSocket tests and the frame fuzzer: client frames as a peer would send
// them, a run of bytes through a ws::connection (whole or cut into pieces) with every event and
// every output byte recorded, and the server's output read back by a client-role connection.
#pragma once

#include <porthole/websocket_connection.hpp>

#include <cstdint>
#include <cstring>
#include <span>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ws_support {

using namespace porthole;

// One frame as a client sends it: masked with a fixed key unless told otherwise.
inline std::string client_frame(ws::opcode op, std::string_view payload, bool fin = true, bool masked = true,
                                bool rsv1 = false) {
    ws::frame_flags f;
    f.fin = fin;
    f.rsv1 = rsv1;
    f.masked = masked;
    f.key = {0x37, 0xfa, 0x21, 0x3d};
    return ws::encode_frame(op, payload, f);
}
inline std::string text(std::string_view s, bool fin = true) { return client_frame(ws::opcode::text, s, fin); }
inline std::string binary(std::string_view s, bool fin = true) { return client_frame(ws::opcode::binary, s, fin); }
inline std::string continuation(std::string_view s, bool fin = true) {
    return client_frame(ws::opcode::continuation, s, fin);
}
inline std::string ping(std::string_view s = {}) { return client_frame(ws::opcode::ping, s); }
inline std::string pong(std::string_view s = {}) { return client_frame(ws::opcode::pong, s); }
inline std::string close_frame(std::uint16_t code, std::string_view reason = {}) {
    std::string p;
    p += static_cast<char>(code >> 8);
    p += static_cast<char>(code & 0xff);
    p += reason;
    return client_frame(ws::opcode::close, p);
}
// A frame header with raw first and second bytes and extended length bytes, then a masking key.
inline std::string raw_header(std::uint8_t b0, std::uint8_t b1, std::string_view extended = {}, bool key = true) {
    std::string h;
    h += static_cast<char>(b0);
    h += static_cast<char>(b1);
    h += extended;
    if (key) h += std::string("\x37\xfa\x21\x3d", 4);
    return h;
}

struct recorded_event {
    ws::event_type type;
    std::string data;
    std::uint16_t code = 0;
    bool clean = false;
    friend bool operator==(recorded_event const&, recorded_event const&) = default;
};

inline std::string describe(recorded_event const& e) {
    static constexpr char const* names[] = {"text", "binary", "ping", "pong", "close"};
    std::string s = names[static_cast<int>(e.type)];
    s += " \"" + e.data.substr(0, 60) + (e.data.size() > 60 ? "...\"" : "\"");
    if (e.type == ws::event_type::close) s += " code " + std::to_string(e.code) + (e.clean ? " clean" : " unclean");
    return s;
}

struct outcome {
    std::vector<recorded_event> events;
    std::string output;
    ws::phase phase = ws::phase::open;
    friend bool operator==(outcome const&, outcome const&) = default;

    std::optional<recorded_event> close_event() const {
        for (auto const& e : events)
            if (e.type == ws::event_type::close) return e;
        return std::nullopt;
    }
    std::uint16_t close_code() const {
        auto e = close_event();
        return e ? e->code : 0;
    }
    std::vector<recorded_event> messages() const {
        std::vector<recorded_event> m;
        for (auto const& e : events)
            if (e.type == ws::event_type::text || e.type == ws::event_type::binary) m.push_back(e);
        return m;
    }
};

// `echo`: each message is sent back as it arrives, the way examples/echo answers.
inline void drain_events(ws::connection& c, outcome& o, bool echo = false) {
    while (auto e = c.next()) {
        if (echo && e->type == ws::event_type::text) c.send_text(e->data);
        if (echo && e->type == ws::event_type::binary) c.send_binary(e->data);
        if (e->type == ws::event_type::close)
            o.events.push_back({e->type, std::string(e->data), ws::to_int(e->code), e->was_clean});
        else o.events.push_back({e->type, std::string(e->data)});
    }
}
inline void drain_output(ws::connection& c, outcome& o) {
    for (;;) {
        auto chunks = c.pending_output();
        if (chunks.empty()) return;
        std::size_t n = 0;
        for (auto piece : chunks) {
            o.output.append(piece);
            n += piece.size();
        }
        c.written(n);
    }
}

enum class feeding : std::uint8_t { span_in_place, copied, read_buffer };

struct run_options {
    feeding how = feeding::span_in_place;
    // The output is taken after each piece, or only at the end: pongs for pings that arrive
    // together are coalesced, so when output is taken changes what is written.
    bool output_each_piece = true;
    bool echo = false;  // see drain_events
};

// Feeds `bytes` cut at `cuts` (ascending offsets), taking the events after each piece.
inline outcome run(ws::connection& c, std::string_view bytes, std::vector<std::size_t> const& cuts = {},
                   run_options const& options = {}) {
    outcome o;
    std::size_t from = 0;
    auto piece = [&](std::size_t to) {
        std::string part(bytes.substr(from, to - from));  // its own allocation: a moved buffer is caught
        from = to;
        switch (options.how) {
            case feeding::span_in_place: c.feed(std::span<char>(part.data(), part.size())); break;
            case feeding::copied: c.feed(std::string_view(part)); break;
            case feeding::read_buffer: {
                std::size_t done = 0;
                while (done < part.size()) {
                    auto room = c.read_buffer();
                    if (room.empty()) {  // paused, or closed: what is left goes in as a copy
                        c.feed(std::string_view(part).substr(done));
                        break;
                    }
                    std::size_t n = std::min(room.size(), part.size() - done);
                    std::memcpy(room.data(), part.data() + done, n);
                    c.commit(n);
                    done += n;
                    drain_events(c, o, options.echo);
                    if (options.output_each_piece) drain_output(c, o);
                }
                break;
            }
        }
        drain_events(c, o, options.echo);
        if (options.output_each_piece) drain_output(c, o);
    };
    for (auto cut : cuts) piece(cut);
    piece(bytes.size());
    drain_output(c, o);
    o.phase = c.phase();
    return o;
}
inline outcome run(std::string_view bytes, std::vector<std::size_t> const& cuts = {}, ws::config const& config = {},
                   run_options const& options = {}) {
    ws::connection c(config);
    return run(c, bytes, cuts, options);
}

// The frames a server wrote, as a client reads them (messages, pings, pongs, and the close).
inline std::vector<recorded_event> read_server_output(std::string_view output,
                                                      std::optional<ws::deflate_params> deflate = std::nullopt) {
    ws::config cc;
    cc.role = ws::role::client;
    cc.max_message_size = std::size_t(1) << 40;
    ws::deflate_options on;
    on.enabled = true;
    ws::connection client(cc, deflate, on);
    outcome o;
    std::string copy(output);
    client.feed(std::span<char>(copy.data(), copy.size()));
    drain_events(client, o);
    return o.events;
}

}  // namespace ws_support

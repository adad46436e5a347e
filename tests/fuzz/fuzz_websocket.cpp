// The WebSocket frame reader, differential: the same client bytes fed whole and cut into pieces
// (in place, copied, or through read_buffer) must give the same events, the same bytes written
// and the same phase. Checked on the whole run besides: at most one close event, and last; text
// messages are UTF-8 and messages within the limit; control data within 125 bytes; the output,
// read back by a client, holds only pongs, the echoed messages and at most one Close, last, with
// the code the close event reports (or the peer's code echoed).
//
// Input layout: three control bytes, then cut bytes, then the client's bytes.
//   byte 0, bits 0-1: limits: default; messages 200 and queue 300; messages 20; queue 100
//           bit 2:    permessage-deflate agreed (parameters from byte 1)
//           bit 3:    an application that echoes every message
//           bits 4-6: number of cuts (0-7), one byte each giving the distance from the last cut
//           bit 7:    on inputs up to 2 KiB, cut before every byte instead
//   byte 1: deflate parameters: bit 0 server_no_context_takeover, bit 1
//           client_no_context_takeover, bits 2-4 client window (9 + n % 7), bits 5-7 server window
//   byte 2: how the pieces are fed (0 in place, 1 copied, 2 read_buffer; modulo 3)
#include "../websocket_support.hpp"
#include "fuzz_support.hpp"

#include <porthole/detail/utf8.hpp>

#include <optional>
#include <vector>

namespace fuzz_websocket {

using namespace porthole;
using namespace ws_support;

inline void one_input(std::uint8_t const* data, std::size_t size) {
    fuzz_support::input in(data, size);
    auto control = in.byte();
    auto deflate_byte = in.byte();
    auto how = static_cast<feeding>(in.byte() % 3);
    std::size_t cut_count = (control >> 4) & 7;
    std::vector<std::size_t> distances;
    for (std::size_t i = 0; i < cut_count; ++i) distances.push_back(in.byte());
    auto bytes = in.rest();

    ws::config config;
    switch (control & 3) {
        case 1: config.max_message_size = 200, config.max_queued_output = 300; break;
        case 2: config.max_message_size = 20; break;
        case 3: config.max_queued_output = 100; break;
        default: break;
    }
    std::optional<ws::deflate_params> deflate;
    ws::deflate_options options;
    options.enabled = true;
    options.min_size = 16;
    if ((control & 4) && ws::deflate_available()) {
        ws::deflate_params p;
        p.server_no_context_takeover = deflate_byte & 1;
        p.client_no_context_takeover = deflate_byte & 2;
        p.client_max_window_bits = 9 + ((deflate_byte >> 2) & 7) % 7;
        p.server_max_window_bits = 9 + ((deflate_byte >> 5) & 7) % 7;
        deflate = p;
    }
    bool echo = (control & 8) != 0;

    std::vector<std::size_t> cuts;
    if ((control & 0x80) && bytes.size() <= 2048) {
        for (std::size_t i = 1; i < bytes.size(); ++i) cuts.push_back(i);
    } else {
        std::size_t at = 0;
        for (auto d : distances) {
            at = std::min(at + d, bytes.size());
            cuts.push_back(at);
        }
    }

    fuzz_support::exact_buffer whole_bytes(bytes);
    ws::connection whole_conn(config, deflate, options);
    auto whole = run(whole_conn, whole_bytes.view(), {}, {feeding::span_in_place, false, echo});
    ws::connection split_conn(config, deflate, options);
    auto split = run(split_conn, whole_bytes.view(), cuts, {how, false, echo});
    if (std::getenv("FUZZ_DUMP")) {
        for (auto const& e : whole.events) std::fprintf(stderr, "whole: %s\n", describe(e).c_str());
        for (auto const& e : split.events) std::fprintf(stderr, "split: %s\n", describe(e).c_str());
    }
    FUZZ_CHECK(whole.events == split.events);
    FUZZ_CHECK(whole.output == split.output);
    FUZZ_CHECK(whole.phase == split.phase);

    // The events.
    std::optional<recorded_event> closed;
    std::vector<recorded_event> messages;
    for (auto const& e : whole.events) {
        FUZZ_CHECK(!closed);  // nothing after the close event
        switch (e.type) {
            case ws::event_type::text: FUZZ_CHECK(porthole::detail::valid_utf8(e.data)); [[fallthrough]];
            case ws::event_type::binary:
                FUZZ_CHECK(e.data.size() <= config.max_message_size);
                messages.push_back(e);
                break;
            case ws::event_type::ping:
            case ws::event_type::pong: FUZZ_CHECK(e.data.size() <= ws::max_control_payload); break;
            case ws::event_type::close: closed = e; break;
        }
    }
    FUZZ_CHECK((whole.phase == ws::phase::closed) == closed.has_value());

    // The output, as a client reads it.
    auto written = read_server_output(whole.output, deflate);
    std::optional<recorded_event> sent_close;
    std::size_t echoed = 0;
    for (auto const& w : written) {
        FUZZ_CHECK(!sent_close);  // nothing after the Close
        if (w.type == ws::event_type::close) {
            sent_close = w;
        } else if (w.type == ws::event_type::pong) {
            FUZZ_CHECK(w.data.size() <= ws::max_control_payload);
        } else {
            FUZZ_CHECK(echo);
            FUZZ_CHECK(echoed < messages.size());
            FUZZ_CHECK(w.type == messages[echoed].type && w.data == messages[echoed].data);
            ++echoed;
        }
    }
    if (echo && !(closed && closed->code == ws::to_int(ws::close_code::try_again_later)))
        FUZZ_CHECK(echoed == messages.size());
    if (closed) {
        FUZZ_CHECK(sent_close.has_value());
        // The peer's code echoed (none, read as 1005, when it sent none), or the failure's.
        FUZZ_CHECK(sent_close->code == closed->code);
        if (!closed->clean)
            FUZZ_CHECK(closed->code == 1002 || closed->code == 1007 || closed->code == 1009 || closed->code == 1013);
    } else {
        FUZZ_CHECK(!sent_close);
    }

    // Nothing is read after the close.
    if (closed) {
        whole_conn.feed(std::string_view("\x81\x80\0\0\0\0", 6));
        FUZZ_CHECK(!whole_conn.next());
    }
}

}  // namespace fuzz_websocket

PORTHOLE_FUZZ_ENTRY(fuzz_websocket)

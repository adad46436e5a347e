// permessage-deflate (RFC 7692). Built twice: with zlib, and with PORTHOLE_WITH_ZLIB undefined,
// where every offer must be declined and compressed frames refused.
#include "websocket_support.hpp"

#include <porthole/websocket_handshake.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace porthole;
using namespace ws_support;
using ws::event_type;

namespace {

ws::deflate_options enabled() {
    ws::deflate_options o;
    o.enabled = true;
    return o;
}

// A masked client frame with raw payload bytes and RSV1 as given.
std::string compressed_frame(ws::opcode op, std::string_view payload, bool fin = true, bool rsv1 = true) {
    return client_frame(op, payload, fin, true, rsv1);
}

// A server and a client connection that agreed on `p`.
struct pair_of_ends {
    ws::connection server, client;
    pair_of_ends(ws::deflate_params const& p, ws::deflate_options const& o = enabled(), std::size_t limit = 1 << 20)
        : server(config(ws::role::server, limit), p, o), client(config(ws::role::client, limit), p, o) {}
    static ws::config config(ws::role r, std::size_t limit) {
        ws::config c;
        c.role = r;
        c.max_message_size = limit;
        return c;
    }
};

}  // namespace

TEST_CASE("deflate: is this build able to compress") {
#ifdef PORTHOLE_WITH_ZLIB
    CHECK(ws::deflate_available());
#else
    CHECK_FALSE(ws::deflate_available());
#endif
}

TEST_CASE("deflate negotiation: off unless enabled, and declined without zlib") {
    CHECK_FALSE(ws::choose_deflate("permessage-deflate", {}).has_value());
    CHECK(ws::choose_deflate("permessage-deflate", enabled()).has_value() == ws::deflate_available());
}

#ifdef PORTHOLE_WITH_ZLIB

TEST_CASE("deflate negotiation: parameters of the offer (RFC 7692 7.1)") {
    auto o = enabled();
    auto p = ws::choose_deflate("permessage-deflate", o);
    REQUIRE(p);
    CHECK(p->server_max_window_bits == 15);
    CHECK(p->client_max_window_bits == 15);
    CHECK_FALSE(p->server_no_context_takeover);
    CHECK(ws::deflate_response(*p) == "permessage-deflate");

    o.client_max_window_bits = 10;
    o.server_max_window_bits = 12;
    p = ws::choose_deflate("permessage-deflate; client_max_window_bits", o);
    REQUIRE(p);
    CHECK(p->client_max_window_bits == 10);  // the offer lets the server choose
    CHECK(ws::deflate_response(*p) == "permessage-deflate; server_max_window_bits=12; client_max_window_bits=10");
    p = ws::choose_deflate("permessage-deflate", o);
    CHECK(p->client_max_window_bits == 15);  // it does not: the client keeps its window
    p = ws::choose_deflate("permessage-deflate; client_max_window_bits=9; server_max_window_bits=10", o);
    CHECK(p->client_max_window_bits == 9);
    CHECK(p->server_max_window_bits == 10);
    // The answer is no more than the offer (RFC 7692 7.1.2.2): npm's ws refuses a 9 to its 8.
    p = ws::choose_deflate("permessage-deflate; client_max_window_bits=8", o);
    REQUIRE(p);
    CHECK(p->client_max_window_bits == 8);
    CHECK(ws::deflate_response(*p) == "permessage-deflate; server_max_window_bits=12; client_max_window_bits=8");
    p = ws::choose_deflate("permessage-deflate; server_max_window_bits=\"11\"", enabled());
    REQUIRE(p);
    CHECK(p->server_max_window_bits == 11);
    // An offer naming server_max_window_bits is accepted only by naming it (RFC 7692 7.1.2.1),
    // 15 too: python3-websockets fails a response without it.
    p = ws::choose_deflate("permessage-deflate; server_max_window_bits=15", enabled());
    REQUIRE(p);
    CHECK(ws::deflate_response(*p) == "permessage-deflate; server_max_window_bits=15");
    p = ws::choose_deflate("PerMessage-Deflate ; server_no_context_takeover ; client_no_context_takeover", enabled());
    REQUIRE(p);
    CHECK(p->server_no_context_takeover);
    CHECK(p->client_no_context_takeover);
    CHECK(ws::deflate_response(*p) == "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
    auto reset = enabled();
    reset.server_no_context_takeover = true;
    CHECK(ws::choose_deflate("permessage-deflate", reset)->server_no_context_takeover);
}

TEST_CASE("deflate negotiation: an offer with an unknown, repeated or invalid parameter is declined") {
    for (char const* bad :
         {"permessage-deflate; foo", "permessage-deflate; server_max_window_bits=16",
          "permessage-deflate; server_max_window_bits=07", "permessage-deflate; server_max_window_bits",
          "permessage-deflate; server_max_window_bits=8",  // zlib cannot
          "permessage-deflate; client_max_window_bits=7", "permessage-deflate; client_max_window_bits=1x",
          "permessage-deflate; server_no_context_takeover=1",
          "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
          "permessage-deflate; client_max_window_bits; client_max_window_bits=10", "x-webkit-deflate-frame",
          "deflate-frame; permessage-deflate",
          // syntax errors
          "permessage-deflate; =1", "permessage-deflate;; a", "permessage-deflate; a=\"b", "permessage-deflate x",
          "permessage-deflate; server_max_window_bits=\"1 0\""}) {
        CAPTURE(bad);
        CHECK_FALSE(ws::choose_deflate(bad, enabled()).has_value());
    }
    // The first acceptable offer wins; the declined ones before it do not matter.
    auto p = ws::choose_deflate(
        "permessage-deflate; server_max_window_bits=8, permessage-deflate; "
        "server_max_window_bits=9, permessage-deflate",
        enabled());
    REQUIRE(p);
    CHECK(p->server_max_window_bits == 9);
    CHECK(ws::choose_deflate("foo; bar=1, permessage-deflate", enabled()).has_value());
}

TEST_CASE("deflate in the handshake: the 101 names the agreed parameters") {
    header_field fields[] = {{"Host", "h"},
                             {"Upgrade", "websocket"},
                             {"Connection", "Upgrade"},
                             {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                             {"Sec-WebSocket-Version", "13"},
                             {"Sec-WebSocket-Extensions", "foo"},
                             {"Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"}};
    request::parts parts;
    parts.headers = fields;
    ws::handshake_options o;
    CHECK_FALSE(ws::accept_handshake(request(parts), o).deflate);  // off by default
    CHECK_FALSE(ws::accept_handshake(request(parts), o).response.header("Sec-WebSocket-Extensions").has_value());
    o.deflate = enabled();
    o.deflate.client_max_window_bits = 12;
    auto h = ws::accept_handshake(request(parts), o);
    REQUIRE(h.deflate);
    CHECK(h.response.header("Sec-WebSocket-Extensions") == "permessage-deflate; client_max_window_bits=12");
}

TEST_CASE("deflate: the examples of RFC 7692 section 7.2.3") {
    ws::deflate_params p;
    auto run_server = [&](std::string const& bytes) {
        ws::connection server({}, p, enabled());
        return run(server, bytes);
    };
    std::string hello("\xf2\x48\xcd\xc9\xc9\x07\x00", 7);
    // 7.2.3.1: one message, compressed, whole and in two fragments.
    auto o = run_server(compressed_frame(ws::opcode::text, hello));
    REQUIRE(o.messages().size() == 1);
    CHECK(o.messages()[0].data == "Hello");
    o = run_server(compressed_frame(ws::opcode::text, hello.substr(0, 3), false) +
                   compressed_frame(ws::opcode::continuation, hello.substr(3), true, false));
    REQUIRE(o.messages().size() == 1);
    CHECK(o.messages()[0].data == "Hello");
    // 7.2.3.2: the second message uses the window of the first.
    o = run_server(compressed_frame(ws::opcode::text, hello) +
                   compressed_frame(ws::opcode::text, std::string("\xf2\x00\x11\x00\x00", 5)));
    REQUIRE(o.messages().size() == 2);
    CHECK(o.messages()[1].data == "Hello");
    // 7.2.3.3: a stored block; 7.2.3.4: a final block (BFINAL set).
    o = run_server(compressed_frame(ws::opcode::text, std::string("\x00\x05\x00\xfa\xff"
                                                                  "Hello"
                                                                  "\x00",
                                                                  11)));
    CHECK(o.messages().at(0).data == "Hello");
    std::string final_block("\xf3\x48\xcd\xc9\xc9\x07\x00\x00", 8);
    o = run_server(compressed_frame(ws::opcode::text, final_block));
    CHECK(o.messages().at(0).data == "Hello");
    CHECK(o.phase == ws::phase::open);
    // Messages after a final block: the next starts a new DEFLATE stream over the same window
    // (7.2.3.2's second message refers to the first's "Hello"). Without the octet after the final
    // block too: the message is whole all the same, and the next is not read as its tail.
    std::string referring("\xf2\x00\x11\x00\x00", 5);
    for (auto const& first : {final_block, final_block.substr(0, 7)}) {
        CAPTURE(first.size());
        o = run_server(compressed_frame(ws::opcode::text, first) + compressed_frame(ws::opcode::text, first) +
                       compressed_frame(ws::opcode::text, referring) + compressed_frame(ws::opcode::text, hello));
        REQUIRE(o.messages().size() == 4);
        for (auto const& m : o.messages()) CHECK(m.data == "Hello");
        CHECK(o.phase == ws::phase::open);
    }
    // Within a message the window stays, with no context takeover too: a fragment ending in a
    // final block, and the next referring to it. Between messages it goes then: 1007.
    p.client_no_context_takeover = true;
    o = run_server(compressed_frame(ws::opcode::text, final_block.substr(0, 7), false) +
                   compressed_frame(ws::opcode::continuation, referring, true, false));
    REQUIRE(o.messages().size() == 1);
    CHECK(o.messages()[0].data == "HelloHello");
    o = run_server(compressed_frame(ws::opcode::text, final_block.substr(0, 7)) +
                   compressed_frame(ws::opcode::text, referring));
    CHECK(o.messages().size() == 1);
    CHECK(o.close_code() == 1007);
    // Empty final blocks (03 00), each a restart of the stream: a few pass, a message of many is
    // refused (each would copy the window out and back).
    p.client_no_context_takeover = false;
    auto empty_finals = [](std::size_t n) {
        std::string s;
        for (std::size_t i = 0; i < n; ++i) s += std::string("\x03\x00", 2);
        return s;
    };
    auto limit = ws::detail::deflate_codec::max_stream_ends_per_message;
    o = run_server(compressed_frame(ws::opcode::text, final_block.substr(0, 7) + empty_finals(limit - 1)));
    REQUIRE(o.messages().size() == 1);
    CHECK(o.messages()[0].data == "Hello");
    o = run_server(compressed_frame(ws::opcode::text, final_block.substr(0, 7) + empty_finals(limit)));
    CHECK(o.messages().empty());
    CHECK(o.close_code() == 1007);
}

TEST_CASE("deflate: both directions, with and without context takeover, split anywhere") {
    for (bool no_takeover : {false, true}) {
        CAPTURE(no_takeover);
        ws::deflate_params p;
        p.server_no_context_takeover = p.client_no_context_takeover = no_takeover;
        p.server_max_window_bits = 10;
        p.client_max_window_bits = 11;
        pair_of_ends ends(p);
        std::string long_text;
        for (int i = 0; i < 200; ++i) long_text += "status: all systems nominal, item " + std::to_string(i % 7) + "\n";
        std::vector<std::string> messages = {long_text, long_text, "short", long_text + "\xe2\x82\xac"};
        for (auto const& m : messages) {
            CHECK(ends.client.send_text(m) == ws::send_result::queued);
            CHECK(ends.server.send_text(m) == ws::send_result::queued);
        }
        auto written = ends.server.pending_output();
        CHECK((static_cast<unsigned char>(written[0][0]) & 0x40) != 0);  // RSV1: compressed
        CHECK((static_cast<unsigned char>(written[2][0]) & 0x40) == 0);  // "short": under min_size
        CHECK(written[0].size() < long_text.size() / 4);
        outcome from_server, from_client;
        drain_output(ends.server, from_server);
        drain_output(ends.client, from_client);
        auto at_client = run(ends.client, from_server.output);
        auto at_server = run(ends.server, from_client.output);
        REQUIRE(at_server.messages().size() == messages.size());
        REQUIRE(at_client.messages().size() == messages.size());
        for (std::size_t i = 0; i < messages.size(); ++i) {
            CHECK(at_server.messages()[i].data == messages[i]);
            CHECK(at_client.messages()[i].data == messages[i]);
        }
        // The same bytes cut at every point give the same messages.
        ws::connection client(pair_of_ends::config(ws::role::client, 1 << 20), p, enabled());
        for (auto const& m : messages) client.send_binary(m);
        outcome bytes;
        drain_output(client, bytes);
        for (std::size_t cut = 1; cut < bytes.output.size(); cut += 3) {
            ws::connection server({}, p, enabled());
            auto o = run(server, bytes.output, {cut});
            REQUIRE(o.messages().size() == messages.size());
            CHECK(o.messages().back().data == messages.back());
        }
    }
}

TEST_CASE("deflate: a message that inflates past the limit closes with 1009, holding no more than the limit") {
    ws::deflate_params p;
    pair_of_ends ends(p, enabled(), 64 * 1024);
    ends.client.send_binary(std::string(10 * 1024 * 1024, '\0'));  // 10 MiB of zeros: about 10 KB on the wire
    outcome wire;
    drain_output(ends.client, wire);
    CHECK(wire.output.size() < 20000);
    auto o = run(ends.server, wire.output);
    CHECK(o.close_code() == 1009);
    CHECK(o.messages().empty());
}

TEST_CASE("deflate: corrupt data, invalid UTF-8 inside, and RSV1 where it may not be") {
    ws::deflate_params p;
    auto server_run = [&](std::string const& bytes) {
        ws::connection server({}, p, enabled());
        return run(server, bytes);
    };
    CHECK(server_run(compressed_frame(ws::opcode::text, "\xff\xff\xff\xff")).close_code() == 1007);
    // "\xc3\x28" deflated: a valid stream of invalid text.
    ws::connection client(pair_of_ends::config(ws::role::client, 1 << 20), p, enabled());
    ws::deflate_options always = enabled();
    always.min_size = 0;
    ws::connection client_all(pair_of_ends::config(ws::role::client, 1 << 20), p, always);
    client_all.send_binary(std::string(300, 'a') + "\xc3\x28");
    outcome wire;
    drain_output(client_all, wire);
    wire.output[0] = static_cast<char>((wire.output[0] & 0xf0) | 0x01);  // the same payload, as text
    CHECK(server_run(wire.output).close_code() == 1007);
    CHECK(server_run(compressed_frame(ws::opcode::text, "\xf2\x48", false) +
                     compressed_frame(ws::opcode::continuation, "\xcd\xc9\xc9\x07\x00", true, true))
              .close_code() == 1002);  // RSV1 on a continuation frame
    CHECK(server_run(compressed_frame(ws::opcode::ping, "")).close_code() == 1002);
    // Without the extension agreed, RSV1 is a protocol error.
    CHECK(run(compressed_frame(ws::opcode::text, "\xf2\x48\xcd\xc9\xc9\x07\x00")).close_code() == 1002);
}

TEST_CASE("deflate: a broadcast frame goes out uncompressed to a connection that compresses") {
    ws::connection server({}, ws::deflate_params{}, enabled());
    CHECK(server.compressing());
    auto frame = ws::shared_frame::text(std::string(1000, 'x'));
    server.send(frame);
    CHECK(server.pending_output()[0].data() == frame.bytes().data());
}

TEST_CASE("deflate: a client that agreed to an 8-bit window and compresses with 9 bits, as zlib does, is read") {
    // zlib has no 8-bit raw window: a client told 8 (RFC 7692 7.1.2.2: the answer is no more
    // than its offer) compresses with 9, as Node's zlib under npm's ws does. Its back-references
    // reach up to 512 bytes, which an inflater opened with 8 bits would refuse (1007).
    auto p = ws::choose_deflate("permessage-deflate; client_max_window_bits=8", enabled());
    REQUIRE(p);
    REQUIRE(p->client_max_window_bits == 8);
    std::string block;
    for (int i = 0; i < 400; ++i) block += static_cast<char>('a' + (i * 7919 % 26));
    std::string message = block + block;  // the second copy refers 400 bytes back
    z_stream z{};
    REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, -9, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string out(4096, '\0');
    z.next_in = reinterpret_cast<Bytef*>(message.data());
    z.avail_in = static_cast<uInt>(message.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&z, Z_SYNC_FLUSH) == Z_OK);
    out.resize(out.size() - z.avail_out);
    deflateEnd(&z);
    REQUIRE(out.ends_with(std::string("\x00\x00\xff\xff", 4)));
    out.resize(out.size() - 4);  // RFC 7692 7.2.1: the sender leaves the empty block off
    REQUIRE(out.size() < 500);   // the repeat was found
    ws::connection server({}, *p, enabled());
    auto o = run(server, compressed_frame(ws::opcode::text, out));
    REQUIRE(o.messages().size() == 1);
    CHECK(o.messages()[0].data == message);
    CHECK(o.phase == ws::phase::open);
}

#else

TEST_CASE("deflate without zlib: offers are declined, RSV1 is a protocol error") {
    header_field fields[] = {{"Host", "h"},
                             {"Upgrade", "websocket"},
                             {"Connection", "Upgrade"},
                             {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                             {"Sec-WebSocket-Version", "13"},
                             {"Sec-WebSocket-Extensions", "permessage-deflate"}};
    request::parts parts;
    parts.headers = fields;
    ws::handshake_options o;
    o.deflate = enabled();
    auto h = ws::accept_handshake(request(parts), o);
    CHECK(h.accepted());
    CHECK_FALSE(h.deflate);
    CHECK_FALSE(h.response.header("Sec-WebSocket-Extensions").has_value());
    ws::connection server({}, ws::deflate_params{}, enabled());  // even if asked to
    CHECK_FALSE(server.compressing());
    CHECK(run(server, compressed_frame(ws::opcode::text, "\xf2\x48\xcd\xc9\xc9\x07\x00")).close_code() == 1002);
}

#endif

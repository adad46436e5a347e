#include "websocket_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

using namespace porthole;
using namespace ws_support;
using ws::event_type;

namespace doctest {
template <>
struct StringMaker<recorded_event> {
    static String convert(recorded_event const& e) { return describe(e).c_str(); }
};
}  // namespace doctest

namespace {

// Every way to cut `bytes` once, and byte by byte, by every way of feeding, with and without an
// application that echoes each message, gives the whole run's outcome (the output taken at the
// end, as pongs to pings read together are coalesced).
void check_every_split(std::string_view bytes, ws::config const& config = {}) {
    for (bool echo : {false, true}) {
        CAPTURE(echo);
        auto whole = run(bytes, {}, config, {feeding::span_in_place, false, echo});
        for (auto how : {feeding::span_in_place, feeding::copied, feeding::read_buffer}) {
            CAPTURE(static_cast<int>(how));
            for (std::size_t cut = 1; cut < bytes.size(); ++cut) {
                CAPTURE(cut);
                auto split = run(bytes, {cut}, config, {how, false, echo});
                REQUIRE(split == whole);
            }
            std::vector<std::size_t> every;
            for (std::size_t i = 1; i < bytes.size(); ++i) every.push_back(i);
            CHECK(run(bytes, every, config, {how, false, echo}) == whole);
        }
    }
}

}  // namespace

TEST_CASE("messages: text, binary and empty, each in one frame") {
    auto o = run(text("hello") + binary(std::string("\0\1\2", 3)) + text("") + binary(""));
    REQUIRE(o.events.size() == 4);
    CHECK(o.events[0] == recorded_event{event_type::text, "hello"});
    CHECK(o.events[1] == recorded_event{event_type::binary, std::string("\0\1\2", 3)});
    CHECK(o.events[2] == recorded_event{event_type::text, ""});
    CHECK(o.events[3] == recorded_event{event_type::binary, ""});
    CHECK(o.output.empty());
    CHECK(o.phase == ws::phase::open);
}

TEST_CASE("messages: 16-bit and 64-bit lengths") {
    std::string medium(300, 'm'), large(70000, 'L');
    large[123] = 'x';
    auto o = run(binary(medium) + text(large));
    REQUIRE(o.messages().size() == 2);
    CHECK(o.messages()[0].data == medium);
    CHECK(o.messages()[1].data == large);
}

TEST_CASE("fragmented messages are put together, with control frames between the fragments") {
    std::vector<std::string> frames = {text("Hel", false),
                                       ping("p1"),
                                       continuation("lo, ", false),
                                       pong("q"),
                                       continuation("", false),
                                       ping(""),
                                       continuation("w\xc3\xb6rld"),
                                       binary("b", false),
                                       ping("p2"),
                                       continuation("in", false),
                                       continuation("ary")};
    std::string bytes;
    std::vector<std::size_t> after_each_ping;  // the output is taken there, before the next ping
    for (auto const& f : frames) {
        bytes += f;
        if (f[0] == '\x89') after_each_ping.push_back(bytes.size());
    }
    auto o = run(bytes, after_each_ping);
    REQUIRE(o.events.size() == 6);
    CHECK(o.events[0] == recorded_event{event_type::ping, "p1"});
    CHECK(o.events[1] == recorded_event{event_type::pong, "q"});
    CHECK(o.events[2] == recorded_event{event_type::ping, ""});
    CHECK(o.events[3] == recorded_event{event_type::text, "Hello, w\xc3\xb6rld"});
    CHECK(o.events[4] == recorded_event{event_type::ping, "p2"});
    CHECK(o.events[5] == recorded_event{event_type::binary, "binary"});
    // Each ping got its pong with the same data, in order (read back as a client would). Pings
    // that arrive together get one pong, for the newest (RFC 6455 5.5.3).
    auto written = read_server_output(o.output);
    REQUIRE(written.size() == 3);
    CHECK(written[0] == recorded_event{event_type::pong, "p1"});
    CHECK(written[1] == recorded_event{event_type::pong, ""});
    CHECK(written[2] == recorded_event{event_type::pong, "p2"});
    auto together = read_server_output(run(bytes).output);
    REQUIRE(together.size() == 1);
    CHECK(together[0] == recorded_event{event_type::pong, "p2"});
    check_every_split(bytes);
}

TEST_CASE("every byte split of every kind of frame gives the same events and output") {
    std::vector<std::string> streams = {
        text("hello") + binary(std::string(200, 'b')) + ping("are you there?") + pong(),
        text(std::string(70000, 'x')).substr(0, 40),  // a frame cut short: nothing yet
        text("a\xe2\x82\xac", false) + continuation("\xf0\x9f\x98", false) + ping("mid") + continuation("\x80!"),
        binary(std::string(126, 'm')) + close_frame(1000, "done") + text("after close"),
        close_frame(4000),
        text("bad \xe2\x28\xa1 text"),
        text("fine", false) + text("not a continuation"),
        raw_header(0x81, 0x05, {}, false) + "Hello",                   // unmasked
        raw_header(0x89, 0xfe, std::string("\x00\x7e", 2)),            // control frame too long
        raw_header(0x82, 0xfe, std::string("\x00\x05", 2)) + "12345",  // non-minimal length
        raw_header(0x82, 0xff, std::string("\x80\0\0\0\0\0\0\0", 8)),  // over 2^63
        text(std::string(5000, 'z')),
        client_frame(ws::opcode::close, "\x03"),
    };
    ws::config small;
    small.max_message_size = 4096;
    for (auto const& s : streams) {
        CAPTURE(s.size());
        check_every_split(s);
        check_every_split(s, small);
    }
}

TEST_CASE("UTF-8 is checked across fragments, cut at every byte of multi-byte characters") {
    std::string message =
        "a\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e\xed\x9f\xbf\xf4\x8f\xbf\xbfz";  // a é € 𝄞 U+D7FF U+10FFFF z
    for (std::size_t cut = 0; cut <= message.size(); ++cut)
        for (std::size_t cut2 = cut; cut2 <= message.size(); ++cut2) {
            auto bytes = text(message.substr(0, cut), false) + continuation(message.substr(cut, cut2 - cut), false) +
                         ping("x") + continuation(message.substr(cut2));
            auto o = run(bytes);
            REQUIRE(o.messages().size() == 1);
            CHECK(o.messages()[0].data == message);
            CHECK(o.phase == ws::phase::open);
        }
    // The same with a bad byte: the verdict comes as soon as that byte arrives.
    std::string bad = "ok \xf0\x9d\x84\x9e then \xf0\x9d\x28\x9e never mind";
    auto bad_at = bad.find('\x28');
    for (std::size_t cut = 0; cut <= bad.size(); ++cut) {
        CAPTURE(cut);
        auto first = text(bad.substr(0, cut), false);
        auto o = run(first);
        CHECK(o.close_code() == (cut > bad_at ? 1007 : 0));
        o = run(first + continuation(bad.substr(cut)));
        CHECK(o.close_code() == 1007);
        CHECK(o.messages().empty());
    }
}

TEST_CASE("UTF-8 fails fast: inside a frame whose end has not arrived, and on a truncated character at the end") {
    auto frame = text("valid start, then \xc0\xaf and much more that never comes" + std::string(1000, '.'));
    auto o = run(frame.substr(0, 40));  // the header and the bad byte, not the rest of the payload
    CHECK(o.close_code() == 1007);
    CHECK(o.phase == ws::phase::closed);
    auto written = read_server_output(o.output);
    REQUIRE(written.size() == 1);
    CHECK(written[0].code == 1007);
    CHECK(run(text("ends in the middle \xe2\x82")).close_code() == 1007);
    CHECK(run(text("ends in the middle \xe2\x82", false) + continuation("")).close_code() == 1007);
    CHECK(run(text("ends in the middle \xe2\x82", false) + continuation("\xac")).close_code() == 0);
    CHECK(run(binary("\xc0\xaf")).close_code() == 0);  // binary is not text
}

TEST_CASE("protocol errors close with 1002 (RFC 6455 5.1, 5.2, 5.4, 5.5)") {
    struct {
        char const* what;
        std::string bytes;
    } cases[] = {
        {"unmasked client frame", client_frame(ws::opcode::text, "hi", true, false)},
        {"RSV1 without an extension", client_frame(ws::opcode::text, "hi", true, true, true)},
        {"RSV2", raw_header(0xa1, 0x80)},
        {"RSV3", raw_header(0x91, 0x80)},
        {"opcode 3", raw_header(0x83, 0x80)},
        {"opcode 7", raw_header(0x87, 0x80)},
        {"opcode 0xB", raw_header(0x8b, 0x80)},
        {"opcode 0xF", raw_header(0x8f, 0x80)},
        {"fragmented ping", client_frame(ws::opcode::ping, "x", false)},
        {"fragmented close", client_frame(ws::opcode::close, "", false)},
        {"ping over 125 bytes", raw_header(0x89, 0x80 | 126, std::string("\x00\x7e", 2)) + std::string(126, 'p')},
        {"close over 125 bytes", raw_header(0x88, 0x80 | 127, std::string("\0\0\0\0\0\1\0\0", 8))},
        {"continuation first", continuation("x")},
        {"text inside a fragmented message", text("a", false) + text("b")},
        {"binary inside a fragmented message", binary("a", false) + binary("b")},
        {"16-bit length under 126", raw_header(0x81, 0xfe, std::string("\x00\x7d", 2))},
        {"64-bit length under 65536", raw_header(0x81, 0xff, std::string("\0\0\0\0\0\0\xff\xff", 8))},
        {"64-bit length with the top bit", raw_header(0x82, 0xff, std::string("\x80\0\0\0\0\0\0\1", 8))},
        {"close with one byte", client_frame(ws::opcode::close, "\x03")},
    };
    for (auto const& c : cases) {
        CAPTURE(c.what);
        auto o = run(c.bytes + text("never read"));
        CHECK(o.close_code() == 1002);
        CHECK(o.messages().empty());
        CHECK(o.phase == ws::phase::closed);
        auto written = read_server_output(o.output);
        REQUIRE(written.size() == 1);
        CHECK(written[0].type == event_type::close);
        CHECK(written[0].code == 1002);
        CHECK_FALSE(o.close_event()->clean);
    }
}

TEST_CASE("the header's bytes are judged as soon as they arrive") {
    CHECK(run(raw_header(0x83, 0x80).substr(0, 1)).close_code() == 1002);  // the opcode alone
    CHECK(run(raw_header(0x81, 0x05).substr(0, 2)).close_code() == 1002);  // unmasked, seen in byte 2
    CHECK(run(raw_header(0x81, 0xfe, std::string("\x00\x7d", 2)).substr(0, 4)).close_code() == 1002);
    CHECK(run(raw_header(0x81, 0xfe, std::string("\x00\x7d", 2)).substr(0, 3)).close_code() == 0);
}

TEST_CASE("message size limit: 1009 from the frame header, before the payload arrives") {
    ws::config c;
    c.max_message_size = 1000;
    CHECK(run(text(std::string(1000, 'a')), {}, c).messages().size() == 1);
    auto big = text(std::string(1001, 'a'));
    auto o = run(big.substr(0, 8), {}, c);  // header only
    CHECK(o.close_code() == 1009);
    REQUIRE(read_server_output(o.output).size() == 1);
    CHECK(read_server_output(o.output)[0].code == 1009);
    // Fragments count together.
    auto frags = binary(std::string(600, 'a'), false) + continuation(std::string(300, 'b'), false) +
                 continuation(std::string(101, 'c'));
    CHECK(run(frags, {}, c).close_code() == 1009);
    auto just = binary(std::string(600, 'a'), false) + continuation(std::string(300, 'b'), false) +
                continuation(std::string(100, 'c'));
    CHECK(run(just, {}, c).messages().size() == 1);
    // A 64-bit length near 2^63 is refused from its header as well.
    CHECK(run(raw_header(0x82, 0xff, std::string("\x7f\xff\xff\xff\xff\xff\xff\xff", 8))).close_code() == 1009);
}

TEST_CASE("ping is answered with a pong carrying the same data; a flood holds one pong") {
    auto first = ping("abc");
    auto o = run(first + ping(std::string(125, 'p')), {first.size()});
    auto written = read_server_output(o.output);
    REQUIRE(written.size() == 2);
    CHECK(written[0] == recorded_event{event_type::pong, "abc"});
    CHECK(written[1] == recorded_event{event_type::pong, std::string(125, 'p')});

    ws::connection c;
    std::string flood;
    for (int i = 0; i < 1000; ++i) flood += ping(std::to_string(i).insert(0, 1, 'n'));
    c.feed(std::string_view(flood));
    std::size_t pings = 0;
    while (auto e = c.next()) pings += e->type == event_type::ping;
    CHECK(pings == 1000);
    CHECK(c.queued_bytes() == 2 + 4);  // one pong, for the newest ping
    outcome out;
    drain_output(c, out);
    written = read_server_output(out.output);
    REQUIRE(written.size() == 1);
    CHECK(written[0].data == "n999");
}

TEST_CASE("a pong already being written is not replaced") {
    ws::connection c;
    c.feed(std::string_view(ping("first")));
    while (c.next()) {}
    c.written(3);  // part of the first pong went out
    c.feed(std::string_view(ping("second")));
    while (c.next()) {}
    outcome o;
    drain_output(c, o);
    std::string from_start =
        "\x8a\x05"
        "f";  // what went out before
    from_start += o.output;
    auto written = read_server_output(from_start);
    REQUIRE(written.size() == 2);
    CHECK(written[0].data == "first");
    CHECK(written[1].data == "second");
}

TEST_CASE("closing handshake started by the peer: the code is echoed, then the connection closes") {
    auto o = run(close_frame(1000, "bye \xe2\x82\xac") + text("ignored"));
    REQUIRE(o.events.size() == 1);
    CHECK(o.events[0] == recorded_event{event_type::close, "bye \xe2\x82\xac", 1000, true});
    CHECK(o.phase == ws::phase::closed);
    auto written = read_server_output(o.output);
    REQUIRE(written.size() == 1);
    CHECK(written[0].code == 1000);
    CHECK(written[0].data.empty());
    // No code: the answer has none, and the application sees 1005.
    o = run(client_frame(ws::opcode::close, ""));
    CHECK(o.events[0] == recorded_event{event_type::close, "", 1005, true});
    CHECK(o.output == std::string("\x88\x00", 2));
}

TEST_CASE("close codes from the peer: registered and private ones pass, others are 1002") {
    for (unsigned code : {1000u, 1001u, 1002u, 1003u, 1007u, 1008u, 1009u, 1010u, 1011u, 1012u, 1013u, 1014u, 3000u,
                          3999u, 4000u, 4999u}) {
        CAPTURE(code);
        auto o = run(close_frame(static_cast<std::uint16_t>(code)));
        CHECK(o.close_code() == code);
        CHECK(o.close_event()->clean);
        CHECK(read_server_output(o.output).at(0).code == code);
    }
    for (unsigned code : {0u, 999u, 1004u, 1005u, 1006u, 1015u, 1016u, 1100u, 2000u, 2999u, 5000u, 65535u}) {
        CAPTURE(code);
        auto o = run(close_frame(static_cast<std::uint16_t>(code)));
        CHECK(o.close_code() == 1002);
        CHECK_FALSE(o.close_event()->clean);
        CHECK(read_server_output(o.output).at(0).code == 1002);
    }
    auto o = run(close_frame(1000, "bad \xff reason"));
    CHECK(o.close_code() == 1007);
    CHECK(read_server_output(o.output).at(0).code == 1007);
}

TEST_CASE("closing handshake started by the server") {
    ws::connection c;
    CHECK(c.send_text("last words") == ws::send_result::queued);
    CHECK(c.close(ws::close_code::going_away, "restarting") == ws::send_result::queued);
    CHECK(c.phase() == ws::phase::closing);
    CHECK(c.send_text("too late") == ws::send_result::not_open);
    CHECK(c.ping() == ws::send_result::not_open);
    CHECK(c.close() == ws::send_result::not_open);
    // Data the peer sent meanwhile is dropped, its pings get no pong; its Close completes it.
    auto o = run(c, text("crossing") + ping("x") + close_frame(1001, "ok"));
    REQUIRE(o.events.size() == 2);
    CHECK(o.events[0].type == event_type::ping);
    CHECK(o.events[1] == recorded_event{event_type::close, "ok", 1001, true});
    CHECK(o.phase == ws::phase::closed);
    auto written = read_server_output(o.output);
    REQUIRE(written.size() == 2);
    CHECK(written[0] == recorded_event{event_type::text, "last words"});
    CHECK(written[1] == recorded_event{event_type::close, "restarting", 1001, true});
}

TEST_CASE("the close timeout, and input ending without a Close, report 1006") {
    ws::connection c;
    c.close();
    outcome o;
    drain_output(c, o);
    c.timeout();
    drain_events(c, o);
    REQUIRE(o.events.size() == 1);
    CHECK(o.events[0] == recorded_event{event_type::close, "", 1006, false});
    CHECK(c.phase() == ws::phase::closed);
    CHECK_FALSE(c.has_output());

    ws::connection d;
    d.feed(std::string_view(text("part", false)));
    while (d.next()) {}
    d.read_eof();
    auto e = d.next();
    REQUIRE(e);
    CHECK(e->code == ws::close_code::abnormal_closure);
    CHECK_FALSE(d.next());
    CHECK(d.phase() == ws::phase::closed);
}

TEST_CASE("the answer to the peer's Close still goes out when its input ends") {
    ws::connection c;
    c.feed(std::string_view(close_frame(1000)));
    auto e = c.next();
    REQUIRE(e);
    CHECK(e->was_clean);
    c.read_eof();
    CHECK_FALSE(c.next());
    outcome o;
    drain_output(c, o);
    CHECK(read_server_output(o.output).at(0).code == 1000);
}

TEST_CASE("heartbeat: a ping per call, and an unanswered one ends the connection") {
    ws::connection c;
    CHECK(c.heartbeat());
    outcome o;
    drain_output(c, o);
    CHECK(read_server_output(o.output).at(0).type == event_type::ping);
    run(c, pong(""));
    CHECK(c.heartbeat());        // answered
    CHECK_FALSE(c.heartbeat());  // not answered
    CHECK(c.phase() == ws::phase::closed);
    CHECK_FALSE(c.has_output());
    auto e = c.next();
    REQUIRE(e);
    CHECK(e->code == ws::close_code::abnormal_closure);
}

TEST_CASE("heartbeat: a peer that took output since the last one is reading, however long its ping waits") {
    ws::connection c;
    REQUIRE(c.send_binary(std::string(100000, 'd')) == ws::send_result::queued);
    c.transport_backlog(40000);  // what an earlier write left in the socket
    CHECK(c.heartbeat());        // the ping waits behind the message
    auto written = [&c](std::size_t n) {
        while (n != 0) {
            auto pieces = c.pending_output();
            REQUIRE_FALSE(pieces.empty());
            std::size_t k = std::min(n, pieces[0].size());
            c.written(k);
            n -= k;
        }
    };
    written(60000);
    c.transport_backlog(50000);  // of the 40,000 held and 60,000 written, the peer took 50,000
    CHECK(c.heartbeat());        // unanswered, but the peer reads: kept, no second ping
    CHECK(c.phase() == ws::phase::open);
    written(30000);
    c.transport_backlog(79997);  // 80,000 would be nothing taken: three bytes were
    CHECK(c.heartbeat());
    c.transport_backlog(79997);  // nothing taken since, nothing written
    CHECK_FALSE(c.heartbeat());  // given up, as without the backlog
    CHECK(c.phase() == ws::phase::closed);
    auto e = c.next();
    REQUIRE(e);
    CHECK(e->code == ws::close_code::abnormal_closure);

    // Written but not taken, on the first count: no sign of life.
    ws::connection d;
    REQUIRE(d.send_binary(std::string(1000, 'd')) == ws::send_result::queued);
    CHECK(d.heartbeat());
    outcome o;
    drain_output(d, o);
    auto frames = read_server_output(o.output);
    REQUIRE(frames.size() == 2);
    CHECK(frames[1].type == event_type::ping);
    d.transport_backlog(o.output.size());
    CHECK_FALSE(d.heartbeat());
    // A peer that hangs while its system takes the ping (2 bytes) is given up as before.
    ws::connection h;
    CHECK(h.heartbeat());
    outcome ho;
    drain_output(h, ho);
    REQUIRE(ho.output.size() == 2);
    h.transport_backlog(0);
    CHECK_FALSE(h.heartbeat());
    // So is one that hangs while messages keep coming, all taken into its system's buffer: no
    // output was ever held back for it (it was kept until that buffer filled).
    ws::connection m;
    m.transport_backlog(0);
    CHECK(m.heartbeat());
    for (int i = 0; i < 3; ++i) REQUIRE(m.send_text(std::string(1000, 't')) == ws::send_result::queued);
    outcome mo;
    drain_output(m, mo);
    m.transport_backlog(0);
    CHECK_FALSE(m.heartbeat());
}

TEST_CASE("sending: what may not be sent is refused and nothing is queued") {
    ws::connection c;
    CHECK(c.send_text("\xc3\x28") == ws::send_result::invalid);
    CHECK(c.ping(std::string(126, 'p')) == ws::send_result::invalid);
    CHECK(c.close(ws::close_code::no_status_received) == ws::send_result::invalid);
    CHECK(c.close(ws::close_code::abnormal_closure) == ws::send_result::invalid);
    CHECK(c.close(static_cast<ws::close_code>(2999)) == ws::send_result::invalid);
    CHECK(c.close(ws::close_code::normal_closure, std::string(124, 'r')) == ws::send_result::invalid);
    CHECK(c.close(ws::close_code::normal_closure, "\xff") == ws::send_result::invalid);
    CHECK_FALSE(c.has_output());
    CHECK(c.phase() == ws::phase::open);
    CHECK(c.send_binary("\xc3\x28") == ws::send_result::queued);
    CHECK(c.send(ws::shared_frame{}) == ws::send_result::invalid);
    CHECK(c.close(static_cast<ws::close_code>(4321), std::string(123, 'r')) == ws::send_result::queued);
}

TEST_CASE("a broadcast frame is shared, not copied, by every connection's queue") {
    auto frame = ws::shared_frame::text("to everyone");
    std::vector<std::unique_ptr<ws::connection>> conns;
    for (int i = 0; i < 5; ++i) {
        conns.push_back(std::make_unique<ws::connection>());
        CHECK(conns.back()->send(frame) == ws::send_result::queued);
    }
    CHECK(frame.use_count() == 6);
    for (auto& c : conns) {
        auto chunks = c->pending_output();
        REQUIRE(chunks.size() == 1);
        CHECK(chunks[0].data() == frame.bytes().data());  // the same bytes, not a copy
        c->written(chunks[0].size());
    }
    CHECK(frame.use_count() == 1);
}

TEST_CASE("output pieces: listed in the thread's shared array, or in room a driver lends, never beyond it") {
    ws::connection a, b;
    for (auto text : {"one", "two", "three"}) {
        CHECK(a.send_text(text) == ws::send_result::queued);
        CHECK(b.send_text(text) == ws::send_result::queued);
    }
    // Both connections list into the same array: a driver writes one's pieces before asking the other.
    CHECK(a.pending_output().data() == b.pending_output().data());
    std::array<std::string_view, 2> room_a{}, room_b{};
    auto from_a = a.pending_output(room_a);  // lent room: both lists held at once
    auto from_b = b.pending_output(room_b);
    REQUIRE(from_a.size() == 2);  // as many as fit, in order
    REQUIRE(from_b.size() == 2);
    CHECK(from_a.data() == room_a.data());
    CHECK(from_b.data() == room_b.data());
    std::string sent;
    for (auto piece : from_a) sent += piece;
    CHECK(sent.substr(2) == "one\x81\x03two");  // two unmasked text frames: 0x81, length, payload
    a.written(sent.size() - 1);                 // all but the last byte
    auto rest = a.pending_output(room_a);
    REQUIRE(rest.size() == 2);
    CHECK(rest[0] == "o");
    CHECK(rest[1].substr(2) == "three");
    CHECK(b.pending_output().size() == 3);
}

TEST_CASE("a slow client: past the queue limit, a send closes the connection with 1013") {
    ws::config cfg;
    cfg.max_queued_output = 1300;
    constexpr std::size_t per = ws::connection::cost_per_frame;  // 64: what follows holds for 24 to 128
    static_assert(per >= 24 && per <= 128);
    ws::connection c(cfg);
    CHECK(c.wants_read());
    std::string chunk(300, 'q');
    CHECK(c.send_binary(chunk) == ws::send_result::queued);
    CHECK(c.send_binary(chunk) == ws::send_result::queued);
    CHECK_FALSE(c.wants_read());                             // over half (2 * (304 + per) > 650): reading pauses
    CHECK(c.send_binary(chunk) == ws::send_result::queued);  // 3 frames of 304 bytes: 912 + 3 per
    c.written(10);                                           // the client took a little of the first frame
    CHECK(c.send_binary(chunk) == ws::send_result::queued);  // 902 + 3 per was under: 1206 + 4 per now
    CHECK(c.queued_bytes() == 1206);
    CHECK(c.send_binary(chunk) == ws::send_result::overflow);
    CHECK(c.phase() == ws::phase::closed);
    auto e = c.next();
    REQUIRE(e);
    CHECK(e->code == ws::close_code::try_again_later);
    CHECK_FALSE(e->was_clean);
    // What was being written is finished, the rest dropped, and the Close follows.
    outcome o;
    drain_output(c, o);
    auto first = ws::encode_frame(ws::opcode::binary, chunk).substr(10);
    REQUIRE(o.output.size() > first.size());
    CHECK(o.output.substr(0, first.size()) == first);
    auto written = read_server_output(o.output.substr(first.size()));
    REQUIRE(written.size() == 1);
    CHECK(written[0].code == 1013);
    CHECK(c.send_binary("x") == ws::send_result::not_open);
}

TEST_CASE("a queue that never empties gives up what was written: memory stays bounded by what waits") {
    ws::connection c;
    ws::frame_flags f;
    f.masked = true;
    f.key = {1, 2, 3, 4};
    auto in = ws::encode_frame(ws::opcode::binary, std::string(1000, 'm'), f);
    std::size_t most_held = 0, most_queued = 0;
    for (int round = 0; round < 20000; ++round) {  // 20 MB through a queue that always holds 100 bytes
        c.feed(std::string_view(in));
        while (auto e = c.next())
            if (e->type == ws::event_type::binary) REQUIRE(c.send_binary(e->data) == ws::send_result::queued);
        std::size_t waiting = 0;
        for (auto piece : c.pending_output()) waiting += piece.size();
        REQUIRE(waiting > 100);
        c.written(waiting - 100);  // the client reads all but the last 100 bytes
        most_held = std::max(most_held, c.memory_held());
        most_queued = std::max(most_queued, c.queued_bytes());
    }
    CHECK(most_queued < 2000);
    CHECK(most_held < 256 * 1024);  // the compaction threshold (64 KiB), doubled, and the buffers
    CHECK(c.phase() == ws::phase::open);
    // What waits still goes out whole: the last 100 bytes end the 20,000th echo.
    std::string rest;
    for (auto piece : c.pending_output()) rest += piece;
    CHECK(rest == std::string(100, 'm'));
}

TEST_CASE("empty messages to a client that does not read: each frame counts, and the queue's memory is bounded") {
    ws::connection c;  // max_queued_output 1 MiB
    std::size_t sent = 0;
    while (c.send_text("") == ws::send_result::queued) ++sent;  // 2 bytes each on the wire
    CHECK(sent <= ws::config{}.max_queued_output / ws::connection::cost_per_frame + 1);
    CHECK(c.phase() == ws::phase::closed);  // 1013
    CHECK(c.memory_held() < 4 * ws::config{}.max_queued_output);
}

TEST_CASE("feeding in place, copied, or through read_buffer, and memory given back when idle") {
    auto bytes = text("one") + binary(std::string(5000, 'b')) + ping("p") + text("two");
    auto a = run(bytes, {7, 100, 4000}, {}, {feeding::span_in_place});
    CHECK(a == run(bytes, {7, 100, 4000}, {}, {feeding::copied}));
    CHECK(a == run(bytes, {7, 100, 4000}, {}, {feeding::read_buffer}));
    CHECK(a.messages().size() == 3);

    // Bytes fed in place are left alone once next() has said nullopt: a second feed before that
    // keeps both.
    ws::connection c;
    std::string first = text("ab") + text("cd");
    std::string second = text("ef");
    c.feed(std::span<char>(first.data(), first.size()));
    auto e = c.next();
    REQUIRE(e);
    CHECK(e->data == "ab");
    c.feed(std::span<char>(second.data(), second.size()));
    first.assign(first.size(), '\0');
    second.assign(second.size(), '\0');
    std::vector<std::string> got;
    while (auto m = c.next()) got.emplace_back(m->data);
    CHECK(got == std::vector<std::string>{"cd", "ef"});
    c.shrink();
    CHECK(c.read_buffer().size() >= 4096);
}

TEST_CASE("a one-frame message is awaited whole in the input buffer and handed over where it lies") {
    // Through read_buffer, as a driver reads: the first read (4 KiB) holds the header and the
    // start; the buffer then has room for the rest, and the message arrives in it, in place.
    for (std::size_t size : {std::size_t{16384}, std::size_t{65536}}) {
        CAPTURE(size);
        std::string payload(size, 'x');
        for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<char>('a' + i % 26);
        auto wire = binary(payload);
        ws::connection c;
        std::size_t at = 0, reads = 0;
        std::optional<ws::event> got;
        char const* read_end = nullptr;  // where the last read's bytes end
        while (!got && at < wire.size()) {
            auto room = c.read_buffer();
            REQUIRE(!room.empty());
            std::size_t n = std::min(room.size(), wire.size() - at);
            std::memcpy(room.data(), wire.data() + at, n);
            read_end = room.data() + n;
            c.commit(n);
            at += n;
            ++reads;
            got = c.next();
        }
        REQUIRE(got);
        CHECK(got->type == event_type::binary);
        CHECK(got->data == payload);
        CHECK(reads == 2);                                       // 4 KiB, then the rest at once
        CHECK(got->data.data() + got->data.size() == read_end);  // in the input buffer, not a copy
    }
    // Larger than 64 KiB: gathered into the message buffer as it comes, in reads of the usual size.
    std::string big(70000, 'y');
    auto a = run(binary(big), {}, {}, {feeding::read_buffer});
    REQUIRE(a.messages().size() == 1);
    CHECK(a.messages()[0].data == big);
    // Text awaited whole still fails at the first invalid byte, before the rest has come.
    ws::connection t;
    auto bad = text(std::string(1000, 'a') + "\xff" + std::string(20000, 'a'));
    auto room = t.read_buffer();
    std::memcpy(room.data(), bad.data(), 2000);
    t.commit(2000);
    auto e = t.next();
    REQUIRE(e);
    CHECK(e->type == event_type::close);
    CHECK(e->code == ws::close_code::invalid_payload_data);
}

TEST_CASE("nothing is read after the connection failed, and no event follows the close") {
    ws::connection c;
    c.feed(std::string_view(raw_header(0x83, 0x80) + text("x")));
    auto e = c.next();
    REQUIRE(e);
    CHECK(e->type == event_type::close);
    CHECK_FALSE(c.next());
    c.feed(std::string_view(text("more")));
    CHECK_FALSE(c.next());
    CHECK(c.read_buffer().empty());
    c.read_eof();
    CHECK_FALSE(c.next());  // one close event per connection
}

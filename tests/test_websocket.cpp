// WebSocket routes end to end through a real connection (porthole::testing): the upgrade, the
// callbacks, path parameters, handles used from other threads, broadcast, the outgoing bound,
// heartbeats, the close timeout, a server stop. test_websocket_sockets.cpp: the built-in server.
#include <porthole/porthole.hpp>

#include "websocket_app.hpp"
#include "websocket_support.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace porthole;
using namespace std::chrono_literals;
using namespace ws_app;
using ws_support::recorded_event;

TEST_CASE("the upgrade: 101 with Sec-WebSocket-Accept, then messages echoed with their opcode") {
    echo_fixture f;
    auto app = make_app(f);
    testing::client c(app);
    c.send(upgrade_request());
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 101);
    CHECK(rs[0].header("Upgrade") == "websocket");
    CHECK(rs[0].header("Connection") == "Upgrade");
    CHECK(rs[0].header("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");  // RFC 6455 1.3
    CHECK(c.conn().phase() == connection_phase::upgraded);

    c.send(ws_support::text("héllo") + ws_support::binary(std::string("\0\1\2", 3)));
    auto frames = frames_after_101(c.output());
    REQUIRE(frames.size() == 2);
    CHECK(frames[0] == recorded_event{ws::event_type::text, "héllo"});
    CHECK(frames[1] == recorded_event{ws::event_type::binary, std::string("\0\1\2", 3)});

    // The closing handshake: the code comes back, the connection ends cleanly.
    c.send(ws_support::close_frame(1000, "done"));
    frames = frames_after_101(c.output());
    REQUIRE(frames.size() == 3);
    CHECK(frames[2].type == ws::event_type::close);
    CHECK(frames[2].code == 1000);
    CHECK(c.closed());
    auto seen = f.seen.get();
    REQUIRE(seen.size() == 4);
    CHECK(seen[0] == "open  ");
    CHECK(seen[3] == "close 1000 done ");
}

namespace {
void binary_to_text(ws::session& s, std::string_view m) { s.send_text(m); }
}  // namespace

TEST_CASE("callbacks may be generic lambdas, free functions, or left empty (nullptr)") {
    std::string closed;
    router app{websocket<"/ws">({
        .on_open = nullptr,
        .on_text = [](auto& s, auto m) { s.send_binary(m); },
        .on_binary = &binary_to_text,
        .on_close = [&closed](ws::session&, ws::close_code c,
                              std::string_view) { closed = std::to_string(ws::to_int(c)); },
    })};
    testing::client c(app);
    c.send(upgrade_request() + ws_support::text("t") + ws_support::binary("b") + ws_support::close_frame(1000));
    auto frames = frames_after_101(c.output());
    REQUIRE(frames.size() >= 2);
    CHECK(frames[0] == recorded_event{ws::event_type::binary, "t"});
    CHECK(frames[1] == recorded_event{ws::event_type::text, "b"});
    CHECK(closed == "1000");
}

TEST_CASE("frames sent with the upgrade request, in the same bytes and split at every byte") {
    auto bytes = upgrade_request() + ws_support::text("first") + ws_support::ping("p") + ws_support::text("second");
    for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
        CAPTURE(cut);
        echo_fixture f;
        auto app = make_app(f);
        testing::client c(app);
        c.send_split(bytes, {cut});
        auto frames = frames_after_101(c.output());
        REQUIRE(frames.size() == 3);
        CHECK(frames[0] == recorded_event{ws::event_type::text, "first"});
        CHECK(frames[1] == recorded_event{ws::event_type::pong, "p"});
        CHECK(frames[2] == recorded_event{ws::event_type::text, "second"});
    }
}

TEST_CASE("path parameters reach on_open through the request and every callback through the session") {
    echo_fixture f;
    auto app = make_app(f);
    testing::client c(app);
    c.send(upgrade_request("/rooms/kitchen%20table"));
    REQUIRE(c.responses().at(0).status == 101);
    c.send(ws_support::close_frame(1001));
    auto seen = f.seen.get();
    REQUIRE(seen.size() == 2);
    CHECK(seen[0] == "open kitchen table kitchen table");
    CHECK(seen[1] == "close 1001  kitchen table");
}

TEST_CASE("an upgrade asked of a route that does not take WebSocket is plain HTTP; the route refuses plain requests") {
    echo_fixture f;
    auto app = make_app(f);
    auto plain = testing::client(app);
    plain.send(upgrade_request("/plain"));
    auto rs = plain.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 200);
    CHECK(rs[0].body == "plain\n");
    CHECK(plain.conn().phase() == connection_phase::idle);

    auto r = testing::get(app, "/ws");
    CHECK(r.status == 426);
    CHECK(r.header("Sec-WebSocket-Version") == "13");
    CHECK(r.header("Upgrade") == "websocket");
    CHECK(r.header("Connection") == "Upgrade");  // a sender of Upgrade lists it in Connection (RFC 9110 7.8)
    auto post = testing::send(app, {method::post, "/ws", {}, {}});
    CHECK(post.status == 405);
    CHECK(post.header("Allow") == "GET, HEAD, OPTIONS");
    // HEAD, with the upgrade's fields or without, gets the head a plain GET gets: never 405,
    // whose Allow would deny the HEAD that OPTIONS lists.
    for (bool asks : {false, true}) {
        CAPTURE(asks);
        auto head = testing::client(app);
        std::string request = asks ? upgrade_request() : std::string("GET /ws HTTP/1.1\r\nHost: localhost\r\n\r\n");
        head.send(request.replace(0, 3, "HEAD"));
        auto hs = head.responses();
        REQUIRE(hs.size() == 1);
        CHECK(hs[0].status == 426);
        CHECK(hs[0].header("Upgrade") == "websocket");
        CHECK(hs[0].body.empty());
        CHECK(head.conn().phase() == connection_phase::idle);
    }
    auto options = testing::send(app, {method::options, "/ws", {}, {}});
    CHECK(options.header("Allow") == "GET, HEAD, OPTIONS");
    CHECK(f.seen.get().empty());
}

TEST_CASE("the Origin policy: same origin by default, others refused with 403") {
    echo_fixture f;
    auto app = make_app(f);
    testing::client same(app), other(app), program(app);
    same.send(upgrade_request("/ws", "Origin: http://localhost\r\n"));
    other.send(upgrade_request("/ws", "Origin: https://evil.example\r\n"));
    program.send(upgrade_request("/ws"));
    CHECK(same.responses().at(0).status == 101);
    CHECK(other.responses().at(0).status == 403);
    CHECK(program.responses().at(0).status == 101);

    echo_fixture open_to_all;
    open_to_all.opts.handshake.origin = ws::origin_policy::any();
    auto app2 = make_app(open_to_all);
    testing::client any(app2);
    any.send(upgrade_request("/ws", "Origin: https://evil.example\r\n"));
    CHECK(any.responses().at(0).status == 101);
}

TEST_CASE("handles send from other threads, in order, through the mailbox (run under TSan)") {
    echo_fixture f;
    auto app = make_app(f);
    testing::client c(app);
    c.send(upgrade_request());
    REQUIRE(f.handles.size() == 1);
    ws::handle h = f.handles[0];
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([h, t] {  // a copy in a lambda sends without `mutable`
            for (int i = 0; i < 50; ++i) CHECK(h.send_text(std::to_string(t) + ":" + std::to_string(i)));
        });
    std::atomic<bool> done{false};
    std::thread stepper([&] {  // the connection's thread meanwhile
        while (!done.load()) c.step();
    });
    for (auto& t : threads) t.join();
    done = true;
    stepper.join();
    c.step();
    auto frames = frames_after_101(c.output());
    REQUIRE(frames.size() == 200);
    int next[4] = {};
    for (auto const& e : frames) {
        int t = e.data[0] - '0';
        CHECK(e.data == std::to_string(t) + ":" + std::to_string(next[t]));
        ++next[t];
    }
    CHECK(h.ping("hb"));
    CHECK_FALSE(h.ping(std::string(126, 'x')));
    CHECK_FALSE(h.send_text("\xff"));
    CHECK(h.close(ws::close_code::going_away, "later"));
    c.step();
    frames = frames_after_101(c.output());
    REQUIRE(frames.size() == 202);
    CHECK(frames[200] == recorded_event{ws::event_type::ping, "hb"});
    CHECK(frames[201].code == 1001);
    CHECK(c.conn().phase() == connection_phase::upgraded_closing);
    CHECK_FALSE(h.send_text("too late"));
    c.send(ws_support::close_frame(1001));
    CHECK(c.closed());
    CHECK_FALSE(h.connected());
}

TEST_CASE("a full outgoing queue closes the connection with 1013, what waited unsent dropped") {
    echo_fixture f;
    f.opts.limits.max_queued_output = 1000;
    auto app = make_app(f);
    testing::client c(app);
    c.send(upgrade_request());
    ws::handle h = f.handles.at(0);
    std::string piece(400, 'a');
    CHECK(h.send_text(piece));
    CHECK(h.send_text(piece));
    CHECK(h.send_text(piece));        // behind 800 bytes and two entries: under 1000
    CHECK_FALSE(h.send_text(piece));  // behind 1200 and more
    CHECK_FALSE(h.connected());
    c.step();
    auto frames = frames_after_101(c.output());
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].type == ws::event_type::close);
    CHECK(frames[0].code == 1013);
    // The server failed the connection: on_close hears 1013 at once, not 1006 after waiting for
    // a Close from a client that may never read this one.
    auto seen = f.seen.get();
    REQUIRE_FALSE(seen.empty());
    CHECK(seen.back() == "close 1013 client too slow ");
    CHECK(c.closed());
}

TEST_CASE("one message larger than the whole limit goes through a handle, or a group, to a client that keeps up") {
    // As through the session: the limit is checked before a send. A handle's message over
    // max_queued_output closed an idle connection with 1013, and a group's emptied the room.
    echo_fixture f;
    f.opts.limits.max_queued_output = 1000;
    auto app = make_app(f);
    std::vector<std::unique_ptr<testing::client<decltype(app)>>> clients;
    for (int i = 0; i < 2; ++i) {
        clients.push_back(std::make_unique<testing::client<decltype(app)>>(app));
        clients.back()->send(upgrade_request());
    }
    std::string const big(5000, 'b');
    ws::handle h = f.handles.at(0);
    CHECK(h.send_binary(big));
    CHECK(h.connected());
    clients[0]->step();
    auto frames = frames_after_101(clients[0]->output());
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].type == ws::event_type::binary);
    CHECK(frames[0].data == big);
    ws::group g;
    for (auto& m : f.handles) g.add(m);
    CHECK(g.broadcast_binary(big) == 2);
    CHECK(g.size() == 2);
    for (auto& c : clients) c->step();
    CHECK(frames_after_101(clients[0]->output()).size() == 2);
    frames = frames_after_101(clients[1]->output());
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].data == big);
    // Behind it, nothing more is taken until it has gone out.
    CHECK(h.send_binary(big));
    CHECK_FALSE(h.send_text("x"));
    clients[0]->step();
    CHECK(frames_after_101(clients[0]->output()).back().code == 1013);
}

TEST_CASE("handle::queued_bytes counts what waits as the limit does, and a producer paced by it is not closed") {
    echo_fixture f;
    f.opts.limits.max_queued_output = 4096;
    auto app = make_app(f);
    testing::client c(app);
    c.send(upgrade_request());
    ws::handle h = f.handles.at(0);
    CHECK(ws::handle{}.queued_bytes() == 0);
    CHECK(h.queued_bytes() == 0);
    REQUIRE(h.send_text("abc"));
    CHECK(h.queued_bytes() == 3 + ws::detail::outbox::entry_cost);  // in the outbox: the loop has not run
    c.step();
    CHECK(h.queued_bytes() == 0);  // moved to the connection and written: this client takes everything
    // Bursts of every size, each paced by queued_bytes() with no step between sends: the loop
    // takes them in rounds, and nothing is closed, however small the messages (each entry counts).
    std::size_t sent = 0, sizes[] = {0, 1, 100, 1000, 3000};
    for (std::size_t size : sizes) {
        std::string const m(size, 'm');
        for (int round = 0; round < 3; ++round) {
            int in_round = 0;
            while (h.queued_bytes() + m.size() <= 4096) {
                REQUIRE(h.send_binary(m));
                ++in_round;
                ++sent;
            }
            CHECK(in_round > 0);
            CHECK(h.queued_bytes() <= 4096 + ws::detail::outbox{}.counted(m.size()));  // checked before each send
            c.step();
        }
    }
    CHECK(h.connected());
    auto frames = frames_after_101(c.output());
    CHECK(frames.size() == sent + 1);
    CHECK(frames.back().type == ws::event_type::binary);
    CHECK(h.queued_bytes() == 0);
    CHECK(h.close());
    c.step();
    CHECK_FALSE(h.connected());
    CHECK(h.queued_bytes() == 0);  // closing: nothing more goes out but the Close, sent
}

TEST_CASE("handle::queued_bytes leaves room for what permessage-deflate adds to bytes that do not compress") {
    // Stored blocks make such a message larger than itself (by more with a small window, which a
    // client may ask for, or little memory): counted at its size, a paced producer's next message
    // found the connection's queue over the limit (1013).
    if (!ws::deflate_available()) return;
    std::string noise(1u << 20, '\0');
    std::uint32_t x = 12345;
    for (auto& ch : noise) {
        x = x * 1664525u + 1013904223u;
        ch = static_cast<char>(x >> 24);
    }
    std::size_t const limit = 100000;
    struct setting {
        std::string offer;
        int mem_level;
    };
    for (auto const& set :
         {setting{"permessage-deflate", 8}, setting{"permessage-deflate; server_max_window_bits=9", 8},
          setting{"permessage-deflate; server_max_window_bits=12", 8}, setting{"permessage-deflate", 1}}) {
        std::vector<std::size_t> sizes{1000, 16384, 65536};
        for (std::size_t size = limit - 400; size <= limit; size += 37) sizes.push_back(size);
        for (std::size_t size : sizes) {
            CAPTURE(set.offer);
            CAPTURE(set.mem_level);
            CAPTURE(size);
            echo_fixture f;
            f.opts.limits.max_queued_output = limit;
            f.opts.handshake.deflate.enabled = true;
            f.opts.handshake.deflate.mem_level = set.mem_level;
            auto app = make_app(f);
            testing::client c(app);
            c.send(upgrade_request("/ws", "Sec-WebSocket-Extensions: " + set.offer + "\r\n"));
            REQUIRE(c.output().find("permessage-deflate") != std::string::npos);
            ws::handle h = f.handles.at(0);
            std::size_t at = 0;
            for (int round = 0; round < 3; ++round) {
                // Paced: each message fits when it is sent, noise never sent twice.
                while (h.queued_bytes() + size <= limit && at + size <= noise.size()) {
                    REQUIRE(h.send_binary(std::string_view(noise).substr(at, size)));
                    at += size;
                }
                while (h.queued_bytes() <= limit) REQUIRE(h.send_text(""));
                c.step();
                CHECK(h.connected());
                CHECK(!c.closed());
            }
        }
    }
}

TEST_CASE("empty messages through a handle count against the outbox's limit too") {
    echo_fixture f;
    f.opts.limits.max_queued_output = 4096;
    auto app = make_app(f);
    testing::client c(app);
    c.send(upgrade_request());
    ws::handle h = f.handles.at(0);
    int sent = 0;
    while (sent < 100000 && h.send_text("")) ++sent;  // nothing delivers them: the loop does not step
    CHECK(sent > 0);
    CHECK(sent < 4096 / 32);  // each entry costs more than 32 bytes
    c.step();
    auto frames = frames_after_101(c.output());
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].code == 1013);
}

TEST_CASE("broadcast: one encoded frame queued on every member; members that left are dropped") {
    echo_fixture f;
    auto app = make_app(f);
    std::vector<std::unique_ptr<testing::client<decltype(app)>>> clients;
    for (int i = 0; i < 3; ++i) {
        clients.push_back(std::make_unique<testing::client<decltype(app)>>(app));
        clients.back()->send(upgrade_request());
    }
    ws::group g;
    for (auto& h : f.handles) g.add(h);
    CHECK(g.size() == 3);
    auto frame = ws::shared_frame::text("to all");
    CHECK(g.broadcast(frame) == 3);
    CHECK(frame.use_count() == 4);  // queued, not copied
    for (auto& c : clients) c->step();
    CHECK(frame.use_count() == 1);  // written, released
    for (auto& c : clients) {
        auto frames = frames_after_101(c->output());
        REQUIRE(frames.size() == 1);
        CHECK(frames[0] == recorded_event{ws::event_type::text, "to all"});
    }
    clients[1]->send(ws_support::close_frame(1000));
    CHECK(g.broadcast_text("again") == 2);
    CHECK(g.size() == 2);
    // Everyone but one: the member left out gets nothing.
    CHECK(g.broadcast_text("not to you", f.handles[0]) == 1);
    clients[0]->step();
    clients[2]->step();
    auto first = frames_after_101(clients[0]->output());
    auto third = frames_after_101(clients[2]->output());
    CHECK(first.size() == 2);  // "to all", "again"
    REQUIRE(third.size() == 3);
    CHECK(third[2] == recorded_event{ws::event_type::text, "not to you"});
    CHECK(g.broadcast_binary("none", ws::handle{}) == 2);  // an empty handle leaves out nobody
}

TEST_CASE("heartbeat: a ping when the keep-alive clock runs out, the connection given up when the next finds no pong") {
    echo_fixture f;
    auto app = make_app(f);
    testing::client c(app);
    c.send(upgrade_request());
    c.time_out();
    auto frames = frames_after_101(c.output());
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].type == ws::event_type::ping);
    c.send(ws_support::pong());
    c.time_out();  // answered: another ping
    CHECK(frames_after_101(c.output()).size() == 2);
    CHECK_FALSE(c.closed());
    c.time_out();  // unanswered: gone
    CHECK(c.closed());
    CHECK(f.seen.get().back() == "close 1006  ");
}

TEST_CASE("a server stop sends 1001; the close timeout ends a peer that never answers") {
    echo_fixture f;
    auto app = make_app(f);
    testing::client c(app);
    c.send(upgrade_request());
    c.stop();
    auto frames = frames_after_101(c.output());
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].code == 1001);
    CHECK(c.conn().phase() == connection_phase::upgraded_closing);
    c.time_out();
    CHECK(c.closed());
    CHECK(f.seen.get().back() == "close 1006  ");

    // An upgrade that arrives while the server stops opens and is closed at once.
    testing::client late(app);
    late.stop();
    late.send(upgrade_request());
    frames = frames_after_101(late.output());
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].code == 1001);
}

TEST_CASE("a callback that throws closes with 1011; protocol errors close with their code") {
    echo_fixture f;
    auto app = make_app(f);
    testing::client c(app);
    c.send(upgrade_request() + ws_support::text("throw"));
    auto frames = frames_after_101(c.output());
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].code == 1011);

    testing::client bad(app);
    bad.send(upgrade_request() + ws_support::client_frame(ws::opcode::text, "x", true, false));  // unmasked
    frames = frames_after_101(bad.output());
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].code == 1002);
    CHECK(bad.closed());
    CHECK(f.seen.get().back() == "close 1002 unmasked client frame ");
}

TEST_CASE("a client that leaves without a Close: on_close hears 1006, handles turn false") {
    echo_fixture f;
    auto app = make_app(f);
    testing::client c(app);
    c.send(upgrade_request() + ws_support::text("hal"));
    ws::handle h = f.handles.at(0);
    c.close_input();
    CHECK(c.closed());
    CHECK(f.seen.get().back() == "close 1006  ");
    CHECK_FALSE(h.connected());
    CHECK_FALSE(h.send_text("anyone?"));
}

TEST_CASE("a 101 refused after on_open (a layer set a field that cannot be sent): 500, on_close hears 1006") {
    struct bad_field {
        void after(response& res) const { res.set_header("X-Trace", "a\x01b"); }
    };
    echo_fixture f;
    auto app = layers{bad_field{}}(make_app(f));
    std::string logged;
    connection_config cfg;
    cfg.error_log = [&](std::string_view m) { logged += m; };
    testing::client c(app, cfg);
    c.send(upgrade_request());
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 500);
    CHECK(c.output().find(" 101 ") == std::string::npos);
    CHECK(logged.find("invalid header field X-Trace") != std::string::npos);
    // The session opened during the handler call is closed, once, and its handles know.
    CHECK(f.seen.get() == std::vector<std::string>{"open  ", "close 1006  "});
    ws::handle h = f.handles.at(0);
    CHECK_FALSE(h.connected());
    CHECK_FALSE(h.send_text("anyone?"));
}

// The options structs are written with designated initializers (the docs do so); a member
// without a default initializer would draw -Wmissing-field-initializers (-Wextra) in every
// program that names another, and this suite builds with -Werror.
TEST_CASE("every options struct takes one designated member without a -Wextra warning") {
    access_token_options token{.token = "t"};
    compression_options compress{.level = 1};
    decompression_options decompress{.max_body = 1};
    connection_config conn{.server_header = true};
    cors_options cors{.origins = {"http://a"}};
    event_hub_options hub{.history = 1};
    debug_vars_options vars{.events_url = "/e"};
    server_options server{.port = 1};
    parser_limits limits{.max_request_line = 1};
    rate_limit_options rate{.rate = 1};
    request_id_options id{.trust_incoming = false};
    security_headers_options security{.referrer_policy = "origin"};
    static_options statics{.list_directories = true};
    template_cache_options templates{.reload_on_change = true};
    ws::config limits_ws{.max_message_size = 1};
    ws::deflate_options deflate{.enabled = true};
    ws::handshake_options handshake{.origin = ws::origin_policy::any()};
    ws::options route{.handshake = {.deflate = {.enabled = true}}};
    // The one member named is set; the others keep their defaults.
    CHECK(token.token == "t");
    CHECK(compress.level == 1);
    CHECK(decompress.max_body == 1);
    CHECK((conn.server_header && conn.allowed_hosts.empty()));
    CHECK(cors.origins.size() == 1);
    CHECK(hub.history == 1);
    CHECK(vars.events_url == "/e");
    CHECK((server.port == 1 && server.address == "127.0.0.1" && server.extra_addresses.empty()));
    CHECK(limits.max_request_line == 1);
    CHECK(rate.rate == 1);
    CHECK(!id.trust_incoming);
    CHECK(security.referrer_policy == "origin");
    CHECK(statics.list_directories);
    CHECK(templates.reload_on_change);
    CHECK(limits_ws.max_message_size == 1);
    CHECK(deflate.enabled);
    CHECK(handshake.subprotocols.empty());
    CHECK((route.handshake.deflate.enabled && route.handshake.subprotocols.empty()));
}

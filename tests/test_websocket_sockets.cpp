// WebSocket routes over loopback sockets on the built-in server (and stepped from the caller's own
// poll() loop): echo, handles from other threads, a stop's 1001, slow readers, clients that
// vanish. Built on the poll(2) back end too.
#include <porthole/porthole.hpp>

#include "server/client.hpp"
#include "websocket_app.hpp"
#include "websocket_support.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <poll.h>
#include <sys/socket.h>

using namespace porthole;
using namespace std::chrono_literals;
using namespace ws_app;
using ws_support::recorded_event;

namespace {

porthole::server_options loopback() {
    porthole::server_options o;
    o.port = 0;
    o.threads = 1;
    o.drain_timeout = 2s;
    return o;
}

// Reads until `count` frames have arrived (or the connection ends).
std::vector<recorded_event> read_frames(test_client::connection& c, std::string& carry, std::size_t count) {
    carry += c.read_raw_until([&](std::string_view got) {
        return ws_support::read_server_output(std::string(carry) + std::string(got)).size() >= count;
    });
    return ws_support::read_server_output(carry);
}

}  // namespace

TEST_CASE("over sockets: echo, a handle from another thread, then a stop sends 1001 to every connection") {
    echo_fixture f;
    auto app = make_app(f);
    porthole::server s(app, loopback());
    s.start();
    std::vector<test_client::connection> conns;
    for (int i = 0; i < 3; ++i) {
        conns.emplace_back(s.port());
        REQUIRE(conns.back().ok());
        REQUIRE(conns.back().send(upgrade_request("/rooms/r" + std::to_string(i))));
        auto r = conns.back().read_reply();
        REQUIRE(r);
        CHECK(r->status == 101);
    }
    std::vector<std::string> carry(3);
    REQUIRE(conns[0].send(ws_support::text("over tcp")));
    auto frames = read_frames(conns[0], carry[0], 1);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].data == "over tcp");

    std::thread([&] {
        std::lock_guard lock(f.handles_mutex);
        for (auto& h : f.handles) CHECK(h.send_text("from a thread"));
    }).join();
    for (int i = 0; i < 3; ++i) {
        auto got = read_frames(conns[i], carry[i], i == 0 ? 2 : 1);
        REQUIRE(!got.empty());
        CHECK(got.back().data == "from a thread");
    }

    std::thread stopper([&] { s.stop(); });
    for (int i = 0; i < 3; ++i) {
        std::size_t before = ws_support::read_server_output(carry[i]).size();
        auto got = read_frames(conns[i], carry[i], before + 1);
        REQUIRE(got.size() == before + 1);
        CHECK(got.back().type == ws::event_type::close);
        CHECK(got.back().code == 1001);
        REQUIRE(conns[i].send(ws_support::close_frame(1001)));
    }
    for (auto& c : conns) CHECK(c.closed_by_peer());
    stopper.join();
    CHECK(f.seen.get().back().rfind("close 1001", 0) == 0);
}

TEST_CASE("over sockets: a client reading a large message slowly but steadily outlives unanswered pings") {
    // Its ping waits behind the message, in the connection's queue and the socket's: an
    // unanswered ping two intervals on gave it up (1006) while it read, before the socket's
    // send queue counted as a sign of life.
    std::size_t const size = 4u << 20;
    std::string const message(size, 'm');
    auto app = router{websocket<"/big">(ws::handlers{.on_open = [&](ws::session& s, request const&) {
        (void)s.send_binary(message);  // one message of any size goes in
    }})};
    auto o = loopback();
    o.websocket_ping_interval = 200ms;
    porthole::server s(app, o);
    s.start();
    test_client::connection c(s.port());
    REQUIRE(c.ok());
    int small = 64 * 1024;
    ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    REQUIRE(c.send(upgrade_request("/big")));
    std::string in;
    char buf[16 * 1024];
    auto deadline = std::chrono::steady_clock::now() + 20s;
    // At most 16 KiB every 5 ms: 3.3 MB/s at best, more than a second for the message.
    while (in.size() < size + 200 && std::chrono::steady_clock::now() < deadline) {
        pollfd p{c.fd(), POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        auto n = ::recv(c.fd(), buf, sizeof buf, 0);
        if (n <= 0) break;  // given up
        in.append(buf, static_cast<std::size_t>(n));
        std::this_thread::sleep_for(5ms);
        auto head_end = in.find("\r\n\r\n");
        if (head_end != std::string::npos && in.size() >= head_end + 4 + 10 + size + 2) break;  // the ping too
    }
    auto frames = frames_after_101(in);
    REQUIRE(frames.size() >= 2);
    CHECK(frames[0].type == ws::event_type::binary);
    CHECK(frames[0].data.size() == size);
    CHECK(frames[1].type == ws::event_type::ping);
    // Still open: a ping of the client's own is answered (before, the server had left while
    // the client read, and the socket ended after the ping).
    REQUIRE(c.send(ws_support::client_frame(ws::opcode::ping, "alive")));
    std::string tail;
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{c.fd(), POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        auto n = ::recv(c.fd(), buf, sizeof buf, 0);
        if (n <= 0) break;
        tail.append(buf, static_cast<std::size_t>(n));
        auto got = ws_support::read_server_output(tail);
        if (!got.empty() && got.back().type == ws::event_type::pong) break;
    }
    auto got = ws_support::read_server_output(tail);
    REQUIRE_FALSE(got.empty());
    CHECK(got.back() == recorded_event{ws::event_type::pong, "alive"});
    s.stop();
}

TEST_CASE("over sockets: a thread paced by handle::queued_bytes streams far more than the limit to a slow reader") {
    // Without the connection's own queue in the count, the outbox empties as fast as the loop
    // takes it, the producer never waits, and the connection's queue overflows: 1013.
    std::size_t const limit = 256 * 1024, piece = 16 * 1024, total = 8u << 20;
    std::mutex m;
    ws::handle h;
    ws::options opts;
    opts.limits.max_queued_output = limit;
    auto app = router{websocket<"/feed">(ws::handlers{.on_open =
                                                          [&](ws::session& s, request const&) {
                                                              std::lock_guard lock(m);
                                                              h = s.handle();
                                                          }},
                                         opts)};
    porthole::server s(app, loopback());
    s.start();
    test_client::connection c(s.port());
    REQUIRE(c.ok());
    int small = 64 * 1024;
    ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    REQUIRE(c.send(upgrade_request("/feed")));
    auto r = c.read_reply();
    REQUIRE(r);
    REQUIRE(r->status == 101);
    ws::handle mine;
    {
        std::lock_guard lock(m);
        mine = h;
    }
    REQUIRE(mine);
    std::atomic<std::size_t> most{0};
    std::atomic<bool> refused{false};
    std::thread producer([&] {
        std::string const frame(piece, 'f');
        auto deadline = std::chrono::steady_clock::now() + 20s;
        for (std::size_t sent = 0; sent < total && std::chrono::steady_clock::now() < deadline;) {
            std::size_t q = mine.queued_bytes();
            if (q > most) most = q;
            if (q + frame.size() > limit) {
                std::this_thread::sleep_for(1ms);
                continue;
            }
            if (!mine.send_binary(frame)) {
                refused = true;
                return;
            }
            sent += frame.size();
        }
    });
    // The client reads at most 64 KiB every 2 ms (32 MB/s at best), slower than the producer.
    std::string in;
    std::size_t payload = 0;
    char buf[64 * 1024];
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (payload < total && std::chrono::steady_clock::now() < deadline) {
        pollfd p{c.fd(), POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        auto n = ::recv(c.fd(), buf, sizeof buf, 0);
        if (n <= 0) break;
        in.append(buf, static_cast<std::size_t>(n));
        std::this_thread::sleep_for(2ms);
        auto frames = ws_support::read_server_output(in);
        if (!frames.empty() && frames.back().type == ws::event_type::close) break;
        payload = 0;
        for (auto const& e : frames) payload += e.data.size();
    }
    producer.join();
    CHECK_FALSE(refused.load());
    auto frames = ws_support::read_server_output(in);
    REQUIRE_FALSE(frames.empty());
    CHECK(frames.back().type == ws::event_type::binary);  // no 1013
    CHECK(frames.size() == total / piece);
    CHECK(payload == total);
    CHECK(most.load() > limit / 2);  // the client's slowness was seen
    CHECK(mine.connected());
    s.stop();
}

TEST_CASE("over sockets: clients that vanish mid-frame leak no descriptor") {
    echo_fixture f;
    auto app = make_app(f);
    porthole::server s(app, loopback());
    s.start();
    auto before = test_client::open_descriptors();
    for (int i = 0; i < 20; ++i) {
        test_client::connection c(s.port());
        REQUIRE(c.ok());
        REQUIRE(c.send(upgrade_request()));
        REQUIRE(c.read_reply());
        auto frame = ws_support::text(std::string(5000, 'z'));
        REQUIRE(c.send(std::string_view(frame).substr(0, 1000 + i * 100)));  // and gone
    }
    for (int i = 0; i < 200 && f.seen.get().size() < 40; ++i) std::this_thread::sleep_for(10ms);
    auto seen = f.seen.get();
    CHECK(std::count(seen.begin(), seen.end(), "close 1006  ") == 20);
    for (int i = 0; i < 200 && test_client::open_descriptors() != before; ++i) std::this_thread::sleep_for(10ms);
    CHECK(test_client::open_descriptors() == before);
    s.stop();
}

TEST_CASE("over sockets, stepped from the caller's own poll() loop: the upgrade, echo, a handle, a stop's 1001") {
    echo_fixture f;
    auto app = make_app(f);
    porthole::server s(app, loopback());
    int fd = s.native_handle();
    std::atomic<bool> done{false}, want_stop{false};
    std::vector<recorded_event> got;
    auto port = s.port();
    std::thread client([&] {
        test_client::connection c(port);
        c.send(upgrade_request());
        auto r = c.read_reply();
        if (!r || r->status != 101) {
            done = true;
            return;
        }
        std::string carry;
        c.send(ws_support::text("stepped"));
        read_frames(c, carry, 1);
        {
            std::lock_guard lock(f.handles_mutex);
            f.handles.at(0).send_binary("handed over");
        }
        read_frames(c, carry, 2);
        want_stop = true;  // the stepping thread stops the server: poll() is that thread's
        got = read_frames(c, carry, 3);
        c.send(ws_support::close_frame(1001));
        done = true;
    });
    bool running = true;  // until the stop has drained: poll() after that would start again
    while (running && !done) {
        if (fd >= 0) {  // epoll: the descriptor is readable when there is work
            pollfd p{fd, POLLIN, 0};
            ::poll(&p, 1, 100);
        }
        running = s.poll(fd >= 0 ? 0ms : 20ms);
        if (running && want_stop) {
            s.stop();  // steps until the stop has drained: the client answers the 1001 meanwhile
            running = false;
        }
    }
    client.join();
    REQUIRE(got.size() == 3);
    CHECK(got[0] == recorded_event{ws::event_type::text, "stepped"});
    CHECK(got[1] == recorded_event{ws::event_type::binary, "handed over"});
    CHECK(got[2].code == 1001);
}

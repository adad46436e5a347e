// The server stepped from the caller's thread (poll()) and stopped from anywhere (stop(),
// server_handle), over real loopback sockets. Built twice: with the default back end (epoll on
// Linux) and with PORTHOLE_USE_POLL (the portable poll(2) back end).
#include <porthole/server.hpp>

#include "server/client.hpp"
#include "server/test_app.hpp"
#include "thread_gate.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <poll.h>

using namespace std::chrono_literals;
using porthole::request;
using porthole::response;
using porthole::status;
using test_client::connection;
using test_server::test_app;
using test_server::test_options;
using test_server::thread_name;

TEST_CASE("poll() serves from the caller's thread, waiting on native_handle()") {
    porthole::server s(test_app, test_options(4));
    int fd = s.native_handle();
    auto port = s.port();
    REQUIRE(port != 0);
    std::atomic<bool> done{false};
    std::vector<std::string> bodies;
    std::thread client([&] {
        connection c(port);
        for (int i = 0; i < 20; ++i) {
            c.get("/thread");
            auto r = c.read_reply();
            bodies.push_back(r ? r->body : "none");
        }
        done = true;
    });
    while (!done) {
        if (fd >= 0) {  // epoll: the descriptor is readable when there is work
            pollfd p{fd, POLLIN, 0};
            ::poll(&p, 1, 100);
        }
        s.poll(fd >= 0 ? 0ms : 20ms);
    }
    client.join();
    REQUIRE(bodies.size() == 20);
    for (auto const& b : bodies) CHECK(b == thread_name());
    s.stop();  // from the polling thread: drains here
    CHECK(s.port() == 0);
}

TEST_CASE("poll() with a download whose write budget runs out: native_handle() stays readable until it is out") {
    // The connection goes on at the next step; the handle showed no work meanwhile, so a caller
    // waiting on it slept its whole timeout between each 16 writes (a 5 MiB stream: 19 s).
    constexpr int pieces = 128;  // 2 MiB in 16 KiB pieces: eight budgets
    auto app = [](request const&) {
        auto n = std::make_shared<int>(0);
        return response::stream([n]() -> std::optional<std::string> {
            if ((*n)++ == pieces) return std::nullopt;
            return std::string(16384, 'd');
        });
    };
    porthole::server s(app, test_options(1));
    int fd = s.native_handle();
    if (fd < 0) return;  // the poll(2) back end has no descriptor to wait on
    std::atomic<bool> done{false};
    std::size_t got = 0;
    std::thread client([&] {
        connection c(s.port());
        c.get("/");
        auto r = c.read_reply();
        got = r ? r->body.size() : 0;
        done = true;
    });
    int idle_waits = 0;  // waits that ended with the descriptor still not readable
    while (!done) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 1000) == 0) ++idle_waits;
        s.poll(0ms);
    }
    client.join();
    CHECK(got == std::size_t{pieces} * 16384);
    CHECK(idle_waits == 0);
    s.stop();
}

TEST_CASE("stop() on the polling thread between steps: the next poll() says stopped, the one after listens again") {
    porthole::server s(test_app, test_options(1));
    auto step_until_answered = [&s](connection& c) {  // the answer waits for the steps
        for (int i = 0; i < 1000; ++i) {
            pollfd p{c.fd(), POLLIN, 0};
            if (::poll(&p, 1, 0) == 1) return true;
            s.poll(5ms);
        }
        return false;
    };
    (void)s.native_handle();
    REQUIRE(s.port() != 0);
    {
        connection c(s.port());
        REQUIRE(c.get("/x"));
        REQUIRE(step_until_answered(c));
        CHECK(c.read_reply());
    }
    s.stop();  // outside poll(), on the thread that polls: drains here
    CHECK(s.port() == 0);
    CHECK(s.native_handle() == -1);  // a loop that asks for it each pass opens nothing again
    CHECK(s.port() == 0);
    CHECK_FALSE(s.poll(0ms));  // the caller's loop learns of the stop, and nothing listens again
    CHECK(s.port() == 0);
    CHECK(s.poll(0ms));  // a server may be stepped again after a stop
    auto port = s.port();
    REQUIRE(port != 0);
    connection again(port);
    REQUIRE(again.get("/x"));
    REQUIRE(step_until_answered(again));
    CHECK(again.read_reply());
}

TEST_CASE("stop() from another thread ends a server stepped with poll(); wait() there returns") {
    porthole::server s(test_app, test_options(1));
    (void)s.native_handle();  // opens the listeners for stepping
    auto port = s.port();
    REQUIRE(port != 0);
    std::atomic<int> steps{0};
    std::thread stepper([&] {
        while (s.poll(5ms)) ++steps;
    });
    connection c(port);
    REQUIRE(c.get("/x"));
    CHECK(c.read_reply());
    while (steps.load() < 3) std::this_thread::sleep_for(1ms);
    s.stop();  // not the polling thread: asks, and the next steps drain
    s.wait();
    stepper.join();
    CHECK(s.port() == 0);
}

TEST_CASE("two servers with different limits stepped from one poll() loop keep their requests apart") {
    // Both run their loops on this thread: nothing one connection holds may be sized by the
    // other server's limits.
    auto headers_app = [](request const& r) {
        std::string all;
        for (auto const& f : r.headers()) all += std::string(f.name) + "=" + std::string(f.value) + ";";
        return response::text(all);
    };
    auto small_options = test_options(1), large_options = test_options(1);
    small_options.limits.max_header_count = 4;
    small_options.allowed_hosts = {"s"};  // the Host of the request sent in two pieces
    large_options.limits.max_header_count = 2000;
    large_options.limits.max_header_bytes = 64 * 1024;
    porthole::server small(headers_app, small_options);
    porthole::server large(headers_app, large_options);
    int fds[2] = {small.native_handle(), large.native_handle()};
    auto small_port = small.port(), large_port = large.port();
    std::string many;
    for (int i = 0; i < 1000; ++i) many += "X-L: " + std::to_string(i) + "\r\n";
    std::atomic<bool> done{false};
    std::vector<std::string> small_bodies, large_bodies;
    std::thread clients([&] {
        connection a(small_port), b(large_port);
        auto a_get = [&](int i) {
            a.get("/", "X-S: " + std::to_string(i) + "\r\n");
            auto ra = a.read_reply();
            small_bodies.push_back(ra ? ra->body : "none");
        };
        for (int i = 0; i < 10; ++i) {
            // a's requests come back to back (its connection object stays), then around b's,
            // once in two pieces
            a_get(i);
            a_get(i);
            b.get("/", many);
            auto rb = b.read_reply();
            large_bodies.push_back(rb ? rb->body : "none");
            a_get(i);
            a.send("GET / HTTP/1.1\r\nHost: s\r\nX-S: " + std::to_string(i) + "\r\n");
            std::this_thread::sleep_for(2ms);
            b.get("/", many);
            rb = b.read_reply();
            large_bodies.push_back(rb ? rb->body : "none");
            a.send("X-T: t\r\n\r\n");
            auto ra = a.read_reply();
            small_bodies.push_back(ra ? ra->body : "none");
        }
        done = true;
    });
    while (!done) {
        if (fds[0] >= 0 && fds[1] >= 0) {
            pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
            ::poll(p, 2, 20);
        }
        small.poll(fds[0] >= 0 ? 0ms : 5ms);
        large.poll(fds[1] >= 0 ? 0ms : 5ms);
    }
    clients.join();
    REQUIRE(small_bodies.size() == 40);
    REQUIRE(large_bodies.size() == 20);
    for (int i = 0; i < 10; ++i) {
        for (int k = 0; k < 3; ++k) CHECK(small_bodies[4 * i + k] == "Host=127.0.0.1;X-S=" + std::to_string(i) + ";");
        CHECK(small_bodies[4 * i + 3] == "Host=s;X-S=" + std::to_string(i) + ";X-T=t;");
    }
    for (auto const& body : large_bodies) {
        CHECK(body.size() > 1000 * 6);
        CHECK(body.find("X-L=999;") != std::string::npos);
    }
    small.stop();
    large.stop();
}

TEST_CASE("stop() from a handler stops a started server; wait() returns") {
    std::function<void()> quit;
    auto app = [&](request const& r) {
        if (r.path() == "/quit") quit();
        return response::text("bye");
    };
    porthole::server s(app, test_options(2));
    quit = [&] { s.stop(); };
    s.start();
    connection c(s.port());
    REQUIRE(c.get("/quit"));
    auto r = c.read_reply();
    REQUIRE(r);
    CHECK(r->body == "bye");
    s.wait();
    CHECK(s.port() == 0);
}

TEST_CASE("a server_handle, declared before the server's type exists, stops it from a handler") {
    porthole::server_handle self;  // the handler below is part of the server's type
    CHECK_FALSE(self);
    CHECK(self.port() == 0);
    self.stop();  // empty: nothing to do
    auto app = [&self](request const& r) {
        if (r.path() == "/quit") self.stop();
        return response::text("port " + std::to_string(self.port()));
    };
    porthole::server s(app, test_options(2));
    self = s.handle();
    REQUIRE(self);
    s.start();
    CHECK(self.port() == s.port());
    connection c(s.port());
    REQUIRE(c.get("/quit"));
    auto r = c.read_reply();
    REQUIRE(r);
    CHECK(r->body == "port " + std::to_string(s.port()));
    s.wait();
    CHECK(self.port() == 0);
}

TEST_CASE("stop() racing start() and wait() on other threads waits only for the run it asked to stop") {
    // A stop() that came between a start()'s opening and its caller's return waited for loops
    // that were never asked to stop: it hung, and every later stop() and wait() with it.
    porthole::server s(test_app, test_options(1));
    test_server::within(60s, "stop() racing start()", [&] {
        std::atomic<bool> done{false};
        std::atomic<int> starts{0};
        std::thread starter([&] {
            while (!done.load()) {
                try {
                    s.start();
                    ++starts;
                } catch (std::logic_error const&) {  // already started: a stop has not ended it yet
                }
            }
        });
        std::vector<std::thread> stoppers;
        for (int i = 0; i < 2; ++i)
            stoppers.emplace_back([&] {
                while (!done.load()) s.stop();
            });
        std::thread waiter([&] {  // holds the run it waits for, not the stops
            while (!done.load()) s.wait();
        });
        std::this_thread::sleep_for(1500ms);
        done = true;
        starter.join();
        for (auto& t : stoppers) t.join();
        s.stop();  // the last start's run: the waiter's wait() returns
        waiter.join();
        CHECK(starts.load() > 0);
        CHECK(s.port() == 0);
    });
}

TEST_CASE("two servers whose handlers stop each other both answer and stop") {
    // A stop() from another server's handler waited for that server's loops, whose handler
    // waited for this one's: each loop thread held in the other's stop() for good.
    test_server::within(60s, "two servers stopping each other", [&] {
        thread_gate both;
        porthole::server_handle a_handle, b_handle;
        auto app_a = [&](request const&) {
            both.pass();
            b_handle.stop();
            return response::text("a");
        };
        auto app_b = [&](request const&) {
            both.pass();
            a_handle.stop();
            return response::text("b");
        };
        porthole::server a(app_a, test_options(1));
        porthole::server b(app_b, test_options(1));
        a_handle = a.handle();
        b_handle = b.handle();
        a.start();
        b.start();
        std::optional<test_client::reply> ra, rb;
        std::thread client_a([&] {
            connection c(a.port());
            if (c.get("/")) ra = c.read_reply();
        });
        std::thread client_b([&] {
            connection c(b.port());
            if (c.get("/")) rb = c.read_reply();
        });
        REQUIRE(both.wait_for_waiting(2));
        both.release();
        client_a.join();
        client_b.join();
        REQUIRE(ra);
        REQUIRE(rb);
        CHECK(ra->body == "a");
        CHECK(rb->body == "b");
        a.wait();
        b.wait();
        CHECK(a.port() == 0);
        CHECK(b.port() == 0);
    });
}

TEST_CASE("stop() from another server's handler waits, so that the handler may start it again") {
    porthole::server_handle public_handle;
    std::function<void()> restart;
    auto admin_app = [&](request const&) {
        restart();
        return response::text("port " + std::to_string(public_handle.port()));
    };
    porthole::server pub(test_app, test_options(1));
    porthole::server admin(admin_app, test_options(1));
    public_handle = pub.handle();
    restart = [&] {
        pub.stop();
        pub.start();  // threw "already started" when the stop only asked
    };
    pub.start();
    admin.start();
    connection c(admin.port());
    REQUIRE(c.get("/restart"));
    auto r = c.read_reply();
    REQUIRE(r);
    CHECK(r->body == "port " + std::to_string(pub.port()));
    REQUIRE(pub.port() != 0);
    connection again(pub.port());
    REQUIRE(again.get("/"));
    auto answer = again.read_reply();
    REQUIRE(answer);
    CHECK(answer->body == "Hello, World!");
    admin.stop();
    pub.stop();
}

TEST_CASE("wait() from a handler of a server stepped with poll() throws, as on a started one") {
    // It drained by stepping the server it was called from: each poll() came back at once, a
    // spinning loop that never returned.
    std::function<void()> wait_here;
    auto app = [&](request const&) {
        try {
            wait_here();
            return response::text("waited");
        } catch (std::logic_error const&) {
            return response::text("refused");
        }
    };
    porthole::server s(app, test_options(1));
    wait_here = [&] { s.wait(); };
    REQUIRE(s.poll(0ms));
    auto port = s.port();
    std::optional<test_client::reply> r;
    std::atomic<bool> answered{false};
    std::thread client([&] {
        connection c(port);
        if (c.get("/")) r = c.read_reply();
        answered = true;
    });
    test_server::within(30s, "wait() from a polled server's handler", [&] {
        while (!answered.load()) s.poll(5ms);
    });
    client.join();
    REQUIRE(r);
    CHECK(r->body == "refused");
    s.stop();
}

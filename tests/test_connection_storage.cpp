// What one connection holds, and only it: storage of its own for the request it parses (no
// state shared with another connection on the same thread, even one driven from a handler),
// memory that follows the data rather than the wire, and output listed in the room the driver
// lends. The connection's other behaviour is in test_connection.cpp.
#include "memory_bound.hpp"

#include <porthole/connection.hpp>
#include <porthole/testing.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

using namespace porthole;
using porthole::testing::client;

namespace {

std::string get(std::string const& target, std::string const& extra = {}) {
    return "GET " + target + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n";
}

}  // namespace

// ---------------------------------------------------------------- no state shared between connections

TEST_CASE("two connections with different limits on one thread keep their header fields apart") {
    // Each connection parses into storage of its own: one sized by another connection's limits
    // would move (or be overwritten) under the first one's views.
    std::vector<std::string> seen;
    auto app = [&](request const& req) {
        std::string all;
        for (auto const& f : req.headers()) all += std::string(f.name) + "=" + std::string(f.value) + ";";
        seen.push_back(all);
        return "ok";
    };
    connection_config small, large;
    small.limits.max_header_count = 4;
    large.limits.max_header_count = 1000;
    client a(app, small);
    client b(app, large);  // made after a: anything shared would be resized under a
    a.send(get("/a", "X-A: 1\r\n"));
    std::string many = "GET /b HTTP/1.1\r\nHost: b\r\n";
    for (int i = 0; i < 500; ++i) many += "X-B: " + std::to_string(i) + "\r\n";
    b.send(many + "\r\n");
    a.send("GET /a2 HTTP/1.1\r\nHost: a\r\nX-A: 2\r\n");  // a head half received
    client c(app, small);
    c.send(get("/c"));
    b.send(many + "\r\n");
    a.send("X-A2: 3\r\n\r\n");
    REQUIRE(seen.size() == 5);
    CHECK(seen[0] == "Host=t;X-A=1;");
    CHECK(seen[1].size() > 500 * 6);
    CHECK(seen[2] == "Host=t;");
    CHECK(seen[3] == seen[1]);
    CHECK(seen[4] == "Host=a;X-A=2;X-A2=3;");
    CHECK(a.responses().size() == 2);
    CHECK(b.responses().size() == 2);
}

TEST_CASE("a handler that drives another connection leaves its own request intact") {
    // Re-entrancy: the inner connection runs while the outer request's views are live.
    auto inner_app = [](request const& req) { return std::string(req.header("x-inner").value_or("")); };
    connection_config large;
    large.limits.max_header_count = 2000;
    large.limits.max_header_bytes = 64 * 1024;
    auto outer_app = [&](request const& req) {
        std::string before(req.header("x-outer").value_or(""));
        client inner(inner_app, large);
        std::string raw = "GET / HTTP/1.1\r\nHost: i\r\n";
        for (int i = 0; i < 1500; ++i) raw += "X-Inner: v" + std::to_string(i) + "\r\n";
        inner.send(raw + "\r\n");
        auto inner_body = inner.responses().at(0).body;
        return before + "|" + std::string(req.header("x-outer").value_or("")) + "|" +
               std::string(req.header("host").value_or("")) + "|" + inner_body;
    };
    client c(outer_app);
    c.send(get("/", "X-Outer: kept\r\n"));
    CHECK(c.responses().at(0).body == "kept|kept|t|v0");
}

TEST_CASE("a handler that drives another connection with the same limits leaves its own request intact") {
    // The common nesting: both sides on the default limits, so a shared block would be the same
    // one, and the inner parse would overwrite the outer request's fields while its handler runs.
    auto inner_app = [](request const& req) { return std::string(req.header("x-inner").value_or("")); };
    auto outer_app = [&](request const& req) {
        std::string before(req.header("x-outer").value_or(""));
        client inner(inner_app);
        inner.send("GET / HTTP/1.1\r\nHost: inner-host\r\nX-Inner: i1\r\nX-Other: o\r\n\r\n");
        auto inner_body = inner.responses().at(0).body;
        std::string fields;
        for (auto const& f : req.headers()) fields += std::string(f.name) + "=" + std::string(f.value) + ";";
        return before + "|" + std::string(req.header("x-outer").value_or("")) + "|" +
               std::string(req.header("host").value_or("")) + "|" + inner_body + "|" + fields;
    };
    client c(outer_app);
    c.send(get("/", "X-Outer: kept\r\n") + get("/", "X-Outer: again\r\n"));
    auto rs = c.responses();
    REQUIRE(rs.size() == 2);
    CHECK(rs[0].body == "kept|kept|t|i1|Host=t;X-Outer=kept;");
    CHECK(rs[1].body == "again|again|t|i1|Host=t;X-Outer=again;");
}

// ---------------------------------------------------------------- memory held per connection

namespace {

// Feeds `wire` in pieces of `piece` bytes the way the built-in server does (only while the
// connection wants input), writing all output; returns the most memory_held() ever was.
template <class App>
std::size_t peak_memory(connection<App>& conn, std::string const& wire, std::size_t piece,
                        std::string* written = nullptr) {
    std::size_t peak = 0;
    std::string buf;
    for (std::size_t at = 0; at < wire.size() && !conn.should_close();) {
        if (conn.wants_read()) {
            buf.assign(wire, at, piece);
            at += buf.size();
            conn.feed(std::span<char>(buf.data(), buf.size()));
        }
        peak = std::max(peak, conn.memory_held());
        for (auto out = conn.pending_output(); !out.empty(); out = conn.pending_output()) {
            std::size_t n = 0;
            for (auto const& c : out) {
                n += static_cast<std::size_t>(c.size());
                if (written) written->append(c.memory);
            }
            conn.written(n);
        }
    }
    return peak;
}

}  // namespace

TEST_CASE("a chunked body's framing is dropped as it is decoded: memory follows the data, not the wire") {
    // 1-byte chunks, each with a 27-byte extension (within the framing allowance): 300 KB of
    // body in 10 MB of framing.
    std::size_t body_size = 0;
    auto app = [&](request const& req) {
        body_size = req.body().size();
        return "ok";
    };
    connection_config cfg;
    connection<decltype(app)> conn(app, cfg);
    std::string wire = "POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 300000; ++i) wire += "1;" + std::string(27, 'x') + "\r\nA\r\n";
    wire += "0\r\n\r\n";
    auto peak = peak_memory(conn, wire, 64 * 1024);
    CHECK(body_size == 300000);
    CHECK(peak <= test_support::connection_memory_bound(cfg));
    CHECK(peak < 2 * (300000 + 64 * 1024) + 64 * 1024);  // the data and a read, not 10 MB
    // The issue's own shape (1-byte chunks with 1000-byte extensions) is refused early.
    connection<decltype(app)> refused(app, cfg);
    std::string heavy = "POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 2000; ++i) heavy += "1;" + std::string(1000, 'x') + "\r\nA\r\n";
    std::string answer;
    CHECK(peak_memory(refused, heavy, 64 * 1024, &answer) < 256 * 1024);
    CHECK(refused.should_close());
    CHECK(answer.substr(0, 12) == "HTTP/1.1 400");
}

TEST_CASE("pipelined requests for large generated bodies do not pile up: string bodies count whole") {
    auto app = [](request const&) { return response::text(std::string(1 << 20, 'b')); };
    connection_config cfg;
    connection<decltype(app)> conn(app, cfg);
    std::string wire;
    for (int i = 0; i < 50; ++i) wire += get("/big");
    conn.feed(std::string_view(wire));  // nothing is written: the peer does not read
    CHECK(!conn.wants_read());
    CHECK(conn.requests_served() <= 2);
    CHECK(conn.memory_held() <= test_support::connection_memory_bound(cfg, {wire.size(), 1 << 20}));
    CHECK(conn.memory_held() < 3u << 20);  // not 50 MiB
    // Written out, every request is answered in turn.
    std::size_t bodies = 0;
    for (auto out = conn.pending_output(); !out.empty(); out = conn.pending_output()) {
        std::size_t n = 0;
        for (auto const& c : out) {
            n += static_cast<std::size_t>(c.size());
            if (c.size() == 1 << 20) ++bodies;
        }
        conn.written(n);
    }
    CHECK(conn.requests_served() == 50);
    CHECK(bodies == 50);
}

TEST_CASE("a peer that reads steadily but never lets the output empty keeps memory bounded") {
    auto app = [](request const&) { return response::text(std::string(1000, 'x')); };
    connection_config cfg;
    connection<decltype(app)> conn(app, cfg);
    std::string burst;
    for (int i = 0; i < 100; ++i) burst += get("/");
    std::size_t peak = 0;
    for (int round = 0; round < 3000; ++round) {
        if (conn.wants_read()) conn.feed(std::string_view(burst));
        for (;;) {  // write all but the last 100 bytes
            auto out = conn.pending_output();
            if (out.size() > 1) {
                conn.written(static_cast<std::size_t>(out[0].size()));
                continue;
            }
            if (out.empty() || out[0].size() <= 100) break;
            conn.written(static_cast<std::size_t>(out[0].size()) - 100);
        }
        peak = std::max(peak, conn.memory_held());
    }
    CHECK(conn.requests_served() == 300000);  // about 330 MB went out
    CHECK(peak <= test_support::connection_memory_bound(cfg, {burst.size()}));
    CHECK(peak < 1u << 20);
}

TEST_CASE("pending_output lists chunks in the room the driver lends, and by default in one array per thread") {
    auto app = [](request const& req) { return std::string(req.path()); };
    connection<decltype(app)> a(app);
    connection<decltype(app)> b(app);
    a.feed(std::string_view(get("/a")));
    b.feed(std::string_view(get("/bb")));
    SUBCASE("rooms of their own: both lists stay valid side by side") {
        std::array<porthole::output_chunk, 4> room_a{}, room_b{};
        auto out_a = a.pending_output(room_a);
        auto out_b = b.pending_output(room_b);
        REQUIRE(out_a.size() == 1);
        REQUIRE(out_b.size() == 1);
        CHECK(out_a.data() == room_a.data());
        CHECK(out_a[0].memory.ends_with("\r\n\r\n/a"));
        CHECK(out_b[0].memory.ends_with("\r\n\r\n/bb"));
        CHECK(a.pending_output(std::span<porthole::output_chunk>()).empty());  // no room: no chunk
        CHECK(a.has_output());
    }
    SUBCASE("the shared array: the same storage for every connection of the thread") {
        auto out_a = a.pending_output();
        REQUIRE(out_a.size() == 1);
        std::string first(out_a[0].memory);
        auto out_b = b.pending_output();
        CHECK(out_b.data() == out_a.data());
        CHECK(first.ends_with("/a"));
        CHECK(out_b[0].memory.ends_with("/bb"));
    }
}

TEST_CASE("a streamed piece goes out as its size line and the piece where it lies, whatever the writes") {
    int made = 0;
    auto app = [&](request const&) {
        return response::stream(
            [&made]() -> std::optional<std::string> {
                if (made == 3) return std::nullopt;
                return std::string(static_cast<std::size_t>(100 * ++made), 'x');
            },
            "text/plain");
    };
    connection<decltype(app)> conn(app);
    conn.feed(std::string_view(get("/")));
    std::string wire;
    std::array<porthole::output_chunk, 1> room{};  // one chunk, one byte at a time
    for (auto out = conn.pending_output(room); !out.empty(); out = conn.pending_output(room)) {
        REQUIRE(out[0].memory.size() > 0);
        wire += out[0].memory[0];
        conn.written(1);
    }
    auto body = wire.substr(wire.find("\r\n\r\n") + 4);
    CHECK(body == "64\r\n" + std::string(100, 'x') + "\r\nc8\r\n" + std::string(200, 'x') + "\r\n12c\r\n" +
                      std::string(300, 'x') + "\r\n0\r\n\r\n");
    CHECK(made == 3);
}

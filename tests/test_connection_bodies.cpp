// A connection's response bodies on the way out (connection.hpp): streamed, chunked or
// close-delimited; files handed to the driver as ranges; large strings referenced; backpressure;
// producers that throw; what is pipelined behind a body cut short.
#include "connection_support.hpp"

#include <porthole/connection.hpp>
#include <porthole/testing.hpp>

#include <doctest/doctest.h>

#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

using namespace porthole;
using porthole::testing::client;
using porthole::testing::parsed_response;

TEST_CASE("a streamed body goes out chunked on HTTP/1.1 and close-delimited on HTTP/1.0") {
    auto app = [](request const&) {
        int n = 0;
        return response::stream(
            [n]() mutable -> std::optional<std::string> {
                if (n == 3) return std::nullopt;
                return "piece" + std::to_string(n++) + ";";
            },
            "text/plain");
    };
    client c(app);
    c.send(get("/"));
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].header("Transfer-Encoding") == "chunked");
    CHECK(!rs[0].header("Content-Length").has_value());
    CHECK(rs[0].body == "piece0;piece1;piece2;");
    CHECK(rs[0].complete);
    CHECK(!c.closed());
    client old(app);
    old.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    CHECK(old.responses().at(0).body == "piece0;piece1;piece2;");
    CHECK(old.closed());
    // HEAD: no body to delimit, so an HTTP/1.0 client that keeps the connection keeps it.
    client head(app);
    head.send("HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n");
    rs = head.responses({true, false});
    REQUIRE(rs.size() == 2);
    CHECK(rs[0].header("Connection") == "keep-alive");
    CHECK(!rs[0].header("Transfer-Encoding").has_value());
    CHECK(rs[1].body == "piece0;piece1;piece2;");
    CHECK(head.closed());
}

TEST_CASE("a file body is handed to the driver as a file range, not read into memory") {
    char name[] = "/tmp/porthole_conn_XXXXXX";
    int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    std::string content(100000, 'f');
    REQUIRE(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    ::close(fd);
    std::string path = name;
    auto app = [&](request const&) { return *response::file(path, "text/plain"); };
    client c(app);
    c.send(get("/f"));
    auto chunks_seen = c.responses();
    REQUIRE(chunks_seen.size() == 1);
    CHECK(chunks_seen[0].body == content);
    CHECK(chunks_seen[0].header("Content-Length") == "100000");
    // the connection presents the file as a file chunk
    recorder unused;
    (void)unused;
    connection conn(app);
    conn.feed(std::string_view(get("/f")));
    auto out = conn.pending_output();
    REQUIRE(out.size() == 2);
    CHECK(out[0].file_fd < 0);
    CHECK(out[1].file_fd >= 0);
    CHECK(out[1].file_length == 100000);
    ::unlink(name);
    CHECK(!response::file("/nonexistent/file").has_value());
}

TEST_CASE("large string bodies are referenced, not copied, and go out whole") {
    std::string big(100000, 'b');
    auto app = [&](request const&) { return response::text(big); };
    connection conn(app);
    conn.feed(std::string_view(get("/")));
    auto out = conn.pending_output();
    REQUIRE(out.size() == 2);
    CHECK(out[1].memory.size() == 100000);
    CHECK(out[1].memory.data() != big.data());  // the response's own string, moved, not copied again
    std::size_t total = out[0].size() + out[1].size();
    conn.written(total - 10);  // a partial write
    auto rest = conn.pending_output();
    REQUIRE(rest.size() == 1);
    CHECK(rest[0].memory.size() == 10);
    conn.written(10);
    CHECK(conn.pending_output().empty());
    CHECK(conn.phase() == connection_phase::idle);
}

// Each file response holds an open descriptor until it is sent, and counts little toward
// max_output_buffered: without this a peer that pipelines requests for a file and never reads
// would make the server hold dozens of descriptors per connection and fill the table.
TEST_CASE("backpressure: a connection holds one file at most; the next request is read once it is sent") {
    char name[] = "/tmp/porthole_conn_XXXXXX";
    int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    std::string content(10000, 'f');
    REQUIRE(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    ::close(fd);
    std::string path = name;
    int calls = 0;
    auto app = [&](request const&) {
        ++calls;
        return *response::file(path, "text/plain");
    };
    connection conn(app);
    std::string all;
    for (int i = 0; i < 20; ++i) all += get("/f");
    conn.feed(std::string_view(all));
    CHECK(calls == 1);
    CHECK(!conn.wants_read());
    int files_seen = 0;
    std::string out;
    while (true) {
        auto chunks = conn.pending_output();
        if (chunks.empty()) break;
        int files = 0;
        std::size_t n = 0;
        for (auto const& ch : chunks) {
            if (ch.file_fd >= 0) {
                ++files;
                out += content.substr(static_cast<std::size_t>(ch.file_offset),
                                      static_cast<std::size_t>(ch.file_length));  // what the driver sends
            } else {
                out.append(ch.memory);
            }
            n += static_cast<std::size_t>(ch.size());
        }
        CHECK(files <= 1);
        files_seen += files;
        conn.written(n);
    }
    ::unlink(name);
    CHECK(calls == 20);
    CHECK(files_seen == 20);
    auto rs = testing::parse_responses(out);
    REQUIRE(rs.size() == 20);
    CHECK(rs[19].body == content);
    CHECK(conn.wants_read());
}

TEST_CASE("backpressure: a connection with too much output waiting stops taking requests") {
    recorder app;
    connection_config cfg;
    cfg.max_output_buffered = 1000;
    connection conn(app, cfg, nullptr);
    std::string all;
    for (int i = 0; i < 100; ++i) all += get("/r" + std::to_string(i));
    conn.feed(std::string_view(all));
    CHECK(!conn.wants_read());
    CHECK(app.paths.size() < 100);
    std::size_t answered = 0;
    std::string out;
    while (true) {
        auto chunks = conn.pending_output();
        if (chunks.empty()) break;
        std::size_t n = 0;
        for (auto const& ch : chunks) out.append(ch.memory), n += ch.memory.size();
        conn.written(n);
    }
    answered = testing::parse_responses(out).size();
    CHECK(answered == 100);
    CHECK(app.paths.size() == 100);
    CHECK(conn.wants_read());
}

TEST_CASE("a streamed body ends with its last chunk even when the connection then closes") {
    auto app = [](request const&) {
        bool sent = false;
        return response::stream([sent]() mutable -> std::optional<std::string> {
            if (sent) return std::nullopt;
            sent = true;
            return "only";
        });
    };
    client c(app);
    c.send(get("/", "Connection: close\r\n"));
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].body == "only");
    CHECK(rs[0].complete);
    CHECK(c.output().substr(c.output().size() - 5) == "0\r\n\r\n");
    CHECK(c.closed());
}

TEST_CASE("a producer that throws cuts the body short and closes, without the final chunk") {
    auto app = [](request const&) {
        int n = 0;
        return response::stream([n]() mutable -> std::optional<std::string> {
            if (n++ == 1) throw std::runtime_error("disk gone");
            return "first";
        });
    };
    connection_config cfg;
    cfg.error_log = [](std::string_view) {};
    client c(app, cfg);
    c.send(get("/"));
    CHECK(c.closed());
    CHECK(c.output().find("0\r\n\r\n") == std::string::npos);
    CHECK(!c.responses().at(0).complete);
}

TEST_CASE("nothing pipelined behind a body cut short goes out after it") {
    // Responses queued behind the stream (a copied text, a held body, another stream) are
    // dropped: a client would read them as more of the cut body.
    auto app = [](request const& req) {
        if (req.path() == "/text") return response::text("next");
        if (req.path() == "/big") return response::text(std::string(100000, 'b'));  // held, not copied
        int n = 0;
        bool fails = req.path() == "/fails";
        return response::stream([n, fails]() mutable -> std::optional<std::string> {
            if (n++ == 2) {
                if (fails) throw std::runtime_error("disk gone");
                return std::nullopt;
            }
            return "piece" + std::to_string(n);
        });
    };
    connection_config cfg;
    cfg.error_log = [](std::string_view) {};
    client c(app, cfg);
    c.send(get("/text") + get("/fails") + get("/text") + get("/big") + get("/stream") + get("/text"));
    CHECK(c.closed());
    auto out = c.output();
    CHECK(out.ends_with("piece2\r\n"));  // the last bytes are the cut body's
    std::size_t heads = 0;
    for (auto at = out.find("HTTP/1.1 "); at != std::string::npos; at = out.find("HTTP/1.1 ", at + 1)) ++heads;
    CHECK(heads == 2);
    auto rs = c.responses();
    REQUIRE(rs.size() == 2);
    CHECK(rs[0].body == "next");
    CHECK(!rs[1].complete);
    CHECK(out.find("bbbb") == std::string::npos);

    // An answer that comes later for a request behind it is refused, not sent after it.
    std::optional<responder> kept;
    auto later_app = [&](request const& req) -> response {
        if (req.path() == "/later") {
            kept = answer_later(req);
            return later;
        }
        return app(req);
    };
    client d(later_app, cfg);
    d.send(get("/fails") + get("/later"));
    REQUIRE(kept.has_value());
    CHECK(d.closed());
    CHECK(!kept->send(response::text("too late")));
    d.step();
    CHECK(d.output().find("too late") == std::string::npos);

    // A live stream queued behind it is told that nobody reads it, during the connection and after.
    std::optional<stream_writer> writer;
    auto push_app = [&](request const& req) -> response {
        if (req.path() == "/push") {
            auto [res, w] = push_stream("text/plain");
            writer = w;
            return std::move(res);
        }
        return app(req);
    };
    {
        client e(push_app, cfg);
        e.send(get("/fails") + get("/push"));
        REQUIRE(writer.has_value());
        CHECK(e.closed());
        CHECK(writer->closed());
    }
    CHECK(writer->write("x") == stream_writer::result::closed);
}

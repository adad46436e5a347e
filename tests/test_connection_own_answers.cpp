// The answers the HTTP/1.1 connection (connection.hpp) writes itself, driven in memory: the
// access log's line for each, naming the request where its head was read; an answer to HEAD
// without content; the request forms answered before any application runs (OPTIONS *, a path the
// router must never see, an empty Host). The rest of the connection is in test_connection.cpp.
#include "connection_output.hpp"
#include "connection_support.hpp"

#include <porthole/connection.hpp>
#include <porthole/testing.hpp>

#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

using namespace porthole;
using connection_output::write_all;
using porthole::testing::client;

TEST_CASE("an access log entry is written per response") {
    std::vector<std::string> lines;
    connection_config cfg;
    cfg.access_log = [&](access_entry const& e) {
        lines.push_back(std::string(e.method) + " " + std::string(e.target) + " " + std::to_string(to_int(e.status)) +
                        " " + std::to_string(e.body_bytes));
    };
    recorder app;
    client c(app, cfg);
    c.send(get("/x") + "BAD\r\n\r\n");
    CHECK(lines == std::vector<std::string>{"GET /x 200 7", "- - 400 11"});
}

TEST_CASE("the connection's own answer to a request whose head it read names the request in the access log") {
    std::vector<std::string> lines;
    connection_config cfg;
    cfg.limits.max_body = 10;
    cfg.access_log = [&](access_entry const& e) {
        lines.push_back(std::string(e.method) + " " + std::string(e.target) + " HTTP/1." +
                        std::to_string(e.version.minor) + " " + std::to_string(to_int(e.status)));
    };
    recorder app;
    {
        client c(app, cfg);  // a body over the limit: the head is known
        c.send("POST /up?x=1 HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\n");
    }
    {
        client c(app, cfg);  // a malformed chunk size, read after the head
        c.send("POST /chunks HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    }
    {
        client c(app, cfg);  // the body stopped coming
        c.send("PUT /slow HTTP/1.0\r\nContent-Length: 5\r\n\r\nab");
        c.time_out();
    }
    {
        client c(app, cfg);  // a head that stopped coming after its request line
        c.send("GET /half HTTP/1.1\r\nHo");
        c.time_out();
    }
    {
        client c(app, cfg);  // a request line that stopped coming: no request to name
        c.send("GET /ha");
        c.time_out();
    }
    CHECK(lines == std::vector<std::string>{"POST /up?x=1 HTTP/1.1 413", "POST /chunks HTTP/1.1 400",
                                            "PUT /slow HTTP/1.0 408", "GET /half HTTP/1.1 408", "- - HTTP/1.1 408"});
    lines.clear();
    {
        client c(app, cfg);  // a malformed escape in the path
        c.send("GET /a%zz HTTP/1.1\r\nHost: t\r\n\r\n");
    }
    {
        client c(app, cfg);  // an expectation other than 100-continue
        c.send("POST /e HTTP/1.1\r\nHost: t\r\nExpect: nope\r\nContent-Length: 5\r\n\r\n");
    }
    {
        client c(app, cfg);  // a malformed field: the request line names it
        c.send("GET /f?q HTTP/1.0\r\nBad Field: x\r\n\r\n");
    }
    {
        client c(app, cfg);  // a malformed request line names nothing
        c.send("GET /v HTTP/9.9\r\nHost: t\r\n\r\n");
    }
    CHECK(lines == std::vector<std::string>{"GET /a%zz HTTP/1.1 400", "POST /e HTTP/1.1 417", "GET /f?q HTTP/1.0 400",
                                            "- - HTTP/1.1 505"});
}

// RFC 9110 section 9.3.2: an answer to HEAD has no content, whoever writes it; the client reads
// the head alone, so a page behind it would be read as the next response.
TEST_CASE("the connection's own answer to HEAD has the head of its page and no content") {
    connection_config cfg;
    cfg.limits.max_body = 10;
    std::vector<std::pair<std::string, std::uint64_t>> logged;  // method, body bytes
    cfg.access_log = [&](access_entry const& e) { logged.emplace_back(e.method, e.body_bytes); };
    struct own_answer {
        std::string request;  // the method's place is "M"
        status expected;
        bool times_out;
    };
    std::vector<own_answer> const cases{
        {"M /up HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\n", status::content_too_large, false},
        {"M /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", status::bad_request, false},
        {"M /a%zz HTTP/1.1\r\nHost: t\r\n\r\n", status::bad_request, false},
        {"M /no-host HTTP/1.1\r\n\r\n", status::bad_request, false},
        {"M /f HTTP/1.1\r\nHost: t\r\nBad Field: x\r\n\r\n", status::bad_request, false},
        {"M /te HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: zip, chunked\r\n\r\n", status::not_implemented, false},
        {"M /e HTTP/1.1\r\nHost: t\r\nExpect: nope\r\n\r\n", status::expectation_failed, false},
        {"M /e HTTP/1.1\r\nHost: t\r\nExpect: nope\r\nContent-Length: 5\r\n\r\n", status::expectation_failed, false},
        {"M /up HTTP/1.0\r\nContent-Length: 11\r\n\r\n", status::content_too_large, false},
        {"M /slow HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nab", status::request_timeout, true},
    };
    for (auto const& one : cases) {  // no structured binding: clang 14 cannot capture one (CAPTURE)
        auto const& request = one.request;
        auto const expected = one.expected;
        bool const times_out = one.times_out;
        CAPTURE(request);
        auto page = std::string(response::error(expected).body_view());
        REQUIRE(!page.empty());
        for (auto const& way : {std::pair{"HEAD", ""}, {"GET", ""}, {"HEAD", "GET /a HTTP/1.1\r\nHost: t\r\n\r\n"}}) {
            auto const* method = way.first;
            auto const* ahead = way.second;
            recorder app;
            client c(app, cfg);
            std::string input = ahead + (method + request.substr(1));
            if (times_out) {  // from a buffer the driver then reuses: the line names the bytes kept
                c.conn().feed(std::span<char>(input.data(), input.size()));
                std::fill(input.begin(), input.end(), '?');
                c.send("");  // the answer ahead is written: the body's wait times out
                c.time_out();
            } else {
                c.send(input);
            }
            bool head = method == std::string_view("HEAD");
            auto rs = c.responses(*ahead ? std::vector<bool>{false, head} : std::vector<bool>{head});
            REQUIRE(rs.size() == (*ahead ? 2 : 1));
            auto const& own = rs.back();
            CHECK(own.status == to_int(expected));
            CHECK(own.header("Content-Length") == std::to_string(page.size()));
            CHECK(own.header("Connection") == "close");
            CHECK(c.output().ends_with(head ? std::string("\r\n\r\n") : page));
            CHECK(app.bodies.size() == (*ahead ? 1 : 0));
            REQUIRE(!logged.empty());
            CHECK(logged.back().first == method);
            CHECK(logged.back().second == (head ? 0 : page.size()));
        }
    }
}

// The same when the request line fails after its method: the log cannot name the request, but
// a HEAD is read far enough to answer it without content.
TEST_CASE("a HEAD whose request line fails after the method gets the head of the page and no content") {
    connection_config cfg;
    cfg.limits.max_request_line = 64;
    std::vector<std::string> logged;
    cfg.access_log = [&](access_entry const& e) { logged.emplace_back(e.method); };
    std::vector<std::pair<std::string, status>> const cases{
        {" /" + std::string(100, 'a') + " HTTP/1.1\r\nHost: t\r\n\r\n", status::uri_too_long},
        {" / HTTP/2.0\r\nHost: t\r\n\r\n", status::http_version_not_supported},
        {" / HTTP/1.x\r\nHost: t\r\n\r\n", status::bad_request},
        {" / HTTP/1.1\nHost: t\r\n\r\n", status::bad_request},
        {" /a#b HTTP/1.1\r\nHost: t\r\n\r\n", status::bad_request},
        {" /slow", status::request_timeout},
    };
    for (auto const& one : cases) {
        auto const& rest = one.first;
        auto const expected = one.second;
        CAPTURE(rest);
        auto page = std::string(response::error(expected).body_view());
        for (std::string method : {"HEAD", "GET", "HEAD in pieces", "GET in pieces"}) {
            CAPTURE(method);
            bool pieces = method.ends_with(" in pieces");
            method = method.substr(0, method.find(' '));
            recorder app;
            client c(app, cfg);
            if (pieces) {  // the method's end and its space in pieces of their own, no line ended
                c.send(method.substr(0, 2));
                c.send(method.substr(2));
                for (char ch : rest) c.send(std::string(1, ch));
            } else {
                c.send(method + rest);
            }
            if (expected == status::request_timeout) c.time_out();
            bool head = method == "HEAD";
            auto rs = c.responses({head});
            REQUIRE(rs.size() == 1);
            CHECK(rs[0].status == to_int(expected));
            CHECK(rs[0].header("Content-Length") == std::to_string(page.size()));
            CHECK(c.output().ends_with(head ? std::string("\r\n\r\n") : page));
            REQUIRE(!logged.empty());
            CHECK(logged.back() == "-");
        }
    }
}

// A 408 while the head's fields or the body come names the request from the bytes the
// connection kept, wherever its request line was parsed: the driver's buffer (reused by the loop's
// other connections, or freed), the connection's own before a pipelined request ahead of it was
// dropped from it, or before it grew (ASan: a view into the old buffer would be read after free).
// A HEAD gets no content.
TEST_CASE("a 408 while the head's fields or the body come names the request, wherever it was parsed") {
    struct stall {
        std::string stalled;  // a request cut short
        std::string longer;   // the same, grown past the connection's first buffer
        std::string logged;   // its access log line
        std::string longer_logged;
    };
    std::string const head_cut = "HEAD /slow?x=1 HTTP/1.1\r\nHost: t\r\nX-Long: abc";
    stall const stalls[] = {
        {"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nab",
         "POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n" + std::string(4000, 'x'), "POST /upload 408",
         "POST /big 408"},
        {head_cut, head_cut + std::string(4000, 'x'), "HEAD /slow?x=1 408", "HEAD /slow?x=1 408"},
    };
    enum class way { behind_pipelined, buffer_reused, buffer_freed, own_buffer_grew };
    for (auto const& s : stalls) {
        for (auto w : {way::behind_pipelined, way::buffer_reused, way::buffer_freed, way::own_buffer_grew}) {
            CAPTURE(s.stalled);
            CAPTURE(static_cast<int>(w));
            std::vector<std::string> lines;
            connection_config cfg;
            cfg.access_log = [&](access_entry const& e) {
                lines.push_back(std::string(e.method) + " " + std::string(e.target) + " " +
                                std::to_string(to_int(e.status)));
            };
            recorder app;
            std::string out;
            std::vector<std::string> expected{s.logged};
            if (w == way::behind_pipelined) {
                client c(app, cfg);
                c.send(get("/first") + s.stalled);
                c.time_out();
                expected.insert(expected.begin(), "GET /first 200");
                out = c.output();
            } else {
                std::string shared(4096, '\0');  // outlives the feed: the driver's buffer, reused
                connection<recorder> conn(app, cfg);
                if (w == way::buffer_reused) {
                    std::memcpy(shared.data(), s.stalled.data(), s.stalled.size());
                    conn.feed(std::span<char>(shared.data(), s.stalled.size()));
                    std::string other = "GET /\r\nInjected: line\r\n another peer's request ?token=abcdef HTTP/1.1\r\n";
                    std::memcpy(shared.data(), other.data(), other.size());
                } else if (w == way::buffer_freed) {
                    auto buffer = std::make_unique<char[]>(s.stalled.size());
                    std::memcpy(buffer.get(), s.stalled.data(), s.stalled.size());
                    conn.feed(std::span<char>(buffer.get(), s.stalled.size()));
                } else {
                    auto room = conn.read_buffer();
                    REQUIRE(room.size() >= s.longer.size());
                    std::memcpy(room.data(), s.longer.data(), s.longer.size());
                    conn.commit(s.longer.size());
                    (void)conn.read_buffer();  // grows the buffer; the read then finds nothing
                    expected = {s.longer_logged};
                }
                conn.timeout();
                out = write_all(conn);
            }
            CHECK(lines == expected);
            auto answer = out.rfind("HTTP/1.1 408 Request Timeout\r\n");
            REQUIRE(answer != std::string::npos);
            bool head = s.stalled.starts_with("HEAD");
            CHECK(out.ends_with("\r\n\r\n") == head);  // an answer to HEAD: no content
        }
    }
}

TEST_CASE("a method named \"-\" is a request like any other, told apart from an error by its target") {
    std::vector<std::string> lines;
    connection_config cfg;
    cfg.access_log = [&](access_entry const& e) {
        lines.push_back(std::string(e.method) + " " + std::string(e.target) + " " + std::to_string(to_int(e.status)));
    };
    recorder app;
    client c(app, cfg);
    c.send("- / HTTP/1.1\r\nHost: t\r\n\r\n" + get("/after"));
    CHECK(lines == std::vector<std::string>{"- / 501", "GET /after 200"});
    CHECK(!c.closed());
}

// ---------------------------------------------------------------- request forms

TEST_CASE("OPTIONS * is answered 200 with Allow and no body, before any application runs") {
    int calls = 0;
    auto app = [&](request const&) {
        ++calls;
        return response(status::not_found);
    };
    std::vector<std::string> lines;
    connection_config cfg;
    cfg.access_log = [&](access_entry const& e) {
        lines.push_back(std::string(e.method) + " " + std::string(e.target) + " " + std::to_string(to_int(e.status)));
    };
    client c(app, cfg);
    c.send("OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\nOPTIONS * HTTP/1.0\r\n\r\n");
    auto rs = c.responses();
    REQUIRE(rs.size() == 2);
    for (auto const& r : rs) {
        CHECK(r.status == 200);
        CHECK(r.header("Allow") == "GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH");
        CHECK(r.header("Content-Length") == "0");
        CHECK(r.body.empty());
    }
    CHECK(calls == 0);
    CHECK(lines == std::vector<std::string>{"OPTIONS * 200", "OPTIONS * 200"});
    CHECK(c.closed());  // the HTTP/1.0 one closes
    // '*' with any other method never gets this far: 400 and close.
    client other(app);
    other.send("GET * HTTP/1.1\r\nHost: t\r\n\r\n" + get("/after"));
    CHECK(other.responses().at(0).status == 400);
    CHECK(other.responses().size() == 1);
    CHECK(other.closed());
    CHECK(calls == 0);
}

TEST_CASE("a path with a backslash or an encoded control byte is 400 before the application runs") {
    int calls = 0;
    auto app = [&](request const&) {
        ++calls;
        return "ok";
    };
    for (auto target :
         {"/a\\b", "/\\\\evil.example", "/a%0d%0aSet-Cookie:%20x=1", "/a%00", "/a%0A", "/%7f", "/x%09y"}) {
        CAPTURE(target);
        client c(app);
        c.send(get(target) + get("/after"));
        auto rs = c.responses();
        REQUIRE(rs.size() == 1);
        CHECK(rs[0].status == 400);
        CHECK(c.closed());
    }
    CHECK(calls == 0);
    client fine(app);
    fine.send(get("/a?q=\\&r=%0d%0a") + get("/a%5Cb"));  // in the query, and encoded: data
    CHECK(fine.responses().size() == 2);
    CHECK(calls == 2);
}

TEST_CASE("empty Host and Content-Length with leading zeros are 400 and close") {
    int calls = 0;
    auto app = [&](request const&) {
        ++calls;
        return "ok";
    };
    for (auto raw : {"GET / HTTP/1.1\r\nHost:\r\n\r\n", "GET / HTTP/1.1\r\nHost: \r\n\r\n",
                     "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 005\r\n\r\nhello",
                     "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 00\r\n\r\n"}) {
        CAPTURE(raw);
        client c(app);
        c.send(std::string(raw) + get("/after"));
        auto rs = c.responses();
        REQUIRE(rs.size() == 1);
        CHECK(rs[0].status == 400);
        CHECK(rs[0].header("Connection") == "close");
        CHECK(c.closed());
    }
    CHECK(calls == 0);
}

// The HTTP/1.1 connection (connection.hpp) driven in memory: framing, keep-alive, errors, limits,
// timeouts and the hostile corpus. Response bodies on the way out are in
// test_connection_bodies.cpp; what one connection holds (its own storage, memory bounded by the
// data, the output room) in test_connection_storage.cpp; the answers it writes itself and their
// access log lines in test_connection_own_answers.cpp.
#include "connection_output.hpp"
#include "connection_support.hpp"
#include "parse_driver.hpp"

#include <porthole/connection.hpp>
#include <porthole/cookie.hpp>
#include <porthole/testing.hpp>

#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

using namespace porthole;
using connection_output::with_dates_masked;
using connection_output::write_all;
using porthole::testing::client;
using porthole::testing::parsed_response;

TEST_CASE("a request gets its response with Date and Content-Length") {
    recorder app;
    client c(app);
    c.send(get("/hello"));
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 200);
    CHECK(rs[0].reason == "OK");
    CHECK(rs[0].body == "path=/hello");
    CHECK(rs[0].header("Content-Length") == "11");
    CHECK(rs[0].header("Content-Type") == "text/plain; charset=utf-8");
    CHECK(rs[0].header("Date").value_or("").size() == 29);
    CHECK(!rs[0].header("Server").has_value());
    CHECK(!c.closed());
}

TEST_CASE("the Server header is off by default and on when asked") {
    recorder app;
    connection_config cfg;
    cfg.server_header = true;
    client c(app, cfg);
    c.send(get("/"));
    CHECK(c.responses().at(0).header("Server") == "porthole");
}

TEST_CASE("keep-alive: HTTP/1.1 persists unless Connection: close") {
    recorder app;
    client a(app);
    a.send(get("/1")).send(get("/2"));
    CHECK(a.responses().size() == 2);
    CHECK(!a.closed());
    client b(app);
    b.send(get("/1", "Connection: close\r\n")).send(get("/2"));
    auto rs = b.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].header("Connection") == "close");
    CHECK(b.closed());
}

TEST_CASE("keep-alive: HTTP/1.0 closes unless keep-alive is asked for") {
    recorder app;
    client a(app);
    a.send("GET /a HTTP/1.0\r\n\r\nGET /b HTTP/1.0\r\n\r\n");
    CHECK(a.responses().size() == 1);
    CHECK(a.closed());
    client b(app);
    b.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    CHECK(b.responses().at(0).header("Connection") == "keep-alive");
    CHECK(!b.closed());
}

TEST_CASE("pipelining: 100 requests in one feed get 100 responses in order") {
    recorder app;
    client c(app);
    std::string all;
    for (int i = 0; i < 100; ++i) all += get("/r" + std::to_string(i));
    c.send(all);
    auto rs = c.responses();
    REQUIRE(rs.size() == 100);
    for (int i = 0; i < 100; ++i) CHECK(rs[static_cast<std::size_t>(i)].body == "path=/r" + std::to_string(i));
}

TEST_CASE("splitting the input at every byte offset gives identical output") {
    auto input =
        std::string("POST /a HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n") +
        get("/b") + "PUT /c HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nxyz" + get("/d", "Connection: close\r\n");
    recorder whole_app;
    client whole(whole_app);
    whole.send(input);
    REQUIRE(whole.responses().size() == 4);
    CHECK(whole_app.bodies == std::vector<std::string>{"body", "", "xyz", ""});
    for (std::size_t cut = 1; cut < input.size(); ++cut) {
        recorder app;
        client c(app);
        c.send_split(input, {cut});
        if (with_dates_masked(c.output()) != with_dates_masked(whole.output())) {
            CAPTURE(cut);
            CHECK(with_dates_masked(c.output()) == with_dates_masked(whole.output()));
            break;
        }
        CHECK(app.bodies == whole_app.bodies);
    }
    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < input.size(); ++i) every.push_back(i);
    recorder app;
    client bytewise(app);
    bytewise.send_split(input, every);
    CHECK(with_dates_masked(bytewise.output()) == with_dates_masked(whole.output()));
}

TEST_CASE("HEAD gets the GET headers, Content-Length included, and no body") {
    auto app = [](request const&) { return response::text("twelve bytes"); };
    client c(app);
    c.send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n" + get("/"));
    auto rs = c.responses({true, false});
    REQUIRE(rs.size() == 2);
    CHECK(rs[0].header("Content-Length") == "12");
    CHECK(rs[0].body.empty());
    CHECK(rs[1].body == "twelve bytes");
    CHECK(c.output().find("twelve bytes") == c.output().rfind("twelve bytes"));  // once only
}

TEST_CASE("204 and 304 carry no body, no Content-Length and no Content-Type") {
    for (auto s : {status::no_content, status::not_modified}) {
        auto app = [s](request const&) { return response::text("ignored", s); };
        client c(app);
        c.send(get("/") + get("/"));
        auto rs = c.responses();
        REQUIRE(rs.size() == 2);
        CHECK(rs[0].status == to_int(s));
        CHECK(!rs[0].header("Content-Length").has_value());
        CHECK(!rs[0].header("Content-Type").has_value());  // no content to describe (RFC 9110 15.4.5)
        CHECK(c.output().find("ignored") == std::string::npos);
    }
}

// RFC 9110 15.3.6: a server MUST NOT generate content in a 205, which is framed as any other
// response (RFC 9112 6.3 reads one without Content-Length to the close).
TEST_CASE("205 goes out framed as empty, whatever content the application gave it") {
    int produced = 0;
    std::vector<std::function<response()>> const answers{
        [] { return response::text("ignored", status::reset_content); },
        [&produced] {
            return response::stream(
                [&produced]() -> std::optional<std::string> {
                    ++produced;
                    return std::nullopt;
                },
                "text/plain", status::reset_content);
        },
    };
    for (auto const& answer : answers) {
        for (auto v : {"HTTP/1.1", "HTTP/1.0"}) {
            CAPTURE(v);
            connection_config cfg;
            std::vector<std::uint64_t> logged;
            cfg.access_log = [&](access_entry const& e) { logged.push_back(e.body_bytes); };
            auto app = [&](request const&) { return answer(); };
            client c(app, cfg);
            std::string one = std::string("GET / ") + v + "\r\nHost: t\r\nConnection: keep-alive\r\n\r\n";
            c.send(one + one);
            auto rs = c.responses();
            REQUIRE(rs.size() == 2);
            CHECK(rs[0].status == 205);
            CHECK(rs[0].header("Content-Length") == "0");
            CHECK(!rs[0].header("Content-Type"));
            CHECK(rs[0].body.empty());
            CHECK(!rs[0].header("Transfer-Encoding"));
            CHECK(c.output().find("ignored") == std::string::npos);
            CHECK(logged == std::vector<std::uint64_t>{0, 0});
        }
    }
    CHECK(produced == 0);
}

TEST_CASE("Expect: 100-continue gets 100 Continue before the body is read") {
    recorder app;
    client c(app);
    c.send("PUT /up HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    CHECK(c.output() == "HTTP/1.1 100 Continue\r\n\r\n");
    CHECK(c.conn().phase() == connection_phase::reading_body);
    c.send("hello");
    auto rs = c.responses();
    REQUIRE(rs.size() == 2);
    CHECK(rs[0].status == 100);
    CHECK(rs[1].status == 200);
    CHECK(app.bodies.back() == "hello");
}

TEST_CASE("Expect: 100-continue with the body already there gets no interim response") {
    recorder app;
    client c(app);
    c.send("PUT /up HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello");
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 200);
}

TEST_CASE("other expectations get 417") {
    recorder app;
    client c(app);
    c.send("PUT /up HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: magic\r\n\r\n");
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 417);
    CHECK(app.paths.empty());
}

TEST_CASE("a parse error answers its status with Connection: close, after earlier pipelined responses") {
    recorder app;
    client c(app);
    c.send(get("/ok") + "GET / HTTP/1.1\r\nHost: t\r\nBad Name: x\r\n\r\n" + get("/never"));
    auto rs = c.responses();
    REQUIRE(rs.size() == 2);
    CHECK(rs[0].status == 200);
    CHECK(rs[1].status == 400);
    CHECK(rs[1].header("Connection") == "close");
    CHECK(c.closed());
    CHECK(app.paths == std::vector<std::string>{"/ok"});
}

TEST_CASE("limits answer 413, 414 and 431") {
    recorder app;
    connection_config cfg;
    cfg.limits.max_body = 4;
    cfg.limits.max_request_line = 32;
    cfg.limits.max_header_bytes = 64;
    auto first_status = [&](std::string const& raw) {
        client c(app, cfg);
        c.send(raw);
        auto rs = c.responses();
        return rs.empty() ? 0u : rs[0].status;
    };
    CHECK(first_status("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n") == 413);
    CHECK(first_status("GET /" + std::string(40, 'a')) == 414);
    CHECK(first_status("GET / HTTP/1.1\r\nHost: t\r\nX: " + std::string(80, 'v')) == 431);
}

TEST_CASE("a body the application did not read is consumed, never taken for a request") {
    auto app = [](request const& req) { return std::string(req.path()); };  // ignores the body
    client c(app);
    c.send("POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 28\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n\r\n" + get("/b"));
    auto rs = c.responses();
    REQUIRE(rs.size() == 2);
    CHECK(rs[0].body == "/a");
    CHECK(rs[1].body == "/b");
}

TEST_CASE("an exception in the application becomes a 500 without its message, and the connection goes on") {
    std::vector<std::string> logged;
    connection_config cfg;
    cfg.error_log = [&](std::string_view m) { logged.emplace_back(m); };
    auto app = [](request const& req) -> response {
        if (req.path() == "/throw") throw std::runtime_error("secret detail");
        return response::text("fine");
    };
    client c(app, cfg);
    std::string long_query(300, 'q');
    c.send(get("/throw") + get("/next") + get("/throw?" + long_query));
    auto rs = c.responses();
    REQUIRE(rs.size() == 3);
    CHECK(rs[0].status == 500);
    CHECK(c.output().find("secret detail") == std::string::npos);
    CHECK(rs[1].body == "fine");
    CHECK(rs[2].status == 500);
    REQUIRE(logged.size() == 2);
    CHECK(logged[0] == "application threw: secret detail (GET /throw)");  // names the request
    // A long target is cut at 200 bytes in the log line.
    CHECK(logged[1] == "application threw: secret detail (GET /throw?" + long_query.substr(0, 193) + "...)");
}

TEST_CASE("CR, LF or NUL in a response header never reach the wire: 500 and a log line") {
    std::vector<std::string> logged;
    connection_config cfg;
    cfg.error_log = [&](std::string_view m) { logged.emplace_back(m); };
    auto app = [](request const& req) {
        response r = response::text("x");
        if (req.path() == "/value") r.set_header("X-Evil", "a\r\nSet-Cookie: pwned=1");
        if (req.path() == "/name") r.set_header("X-Evil\r\nInjected", "1");
        if (req.path() == "/nul") r.set_header("X-Evil", std::string_view("a\0b", 3));
        if (req.path() == "/type") r.set_content_type("text/html\r\nX: y");
        if (req.path() == "/cookie") r.add_header("Set-Cookie", set_cookie("sid", "a\r\npwned=1").to_string());
        return r;
    };
    for (auto path : {"/value", "/name", "/nul", "/type", "/cookie"}) {
        CAPTURE(path);
        client c(app, cfg);
        c.send(get(path));
        auto rs = c.responses();
        REQUIRE(rs.size() == 1);
        CHECK(rs[0].status == 500);
        CHECK(c.output().find("pwned") == std::string::npos);
        CHECK(c.output().find("Injected") == std::string::npos);
        CHECK(c.output().find("X: y") == std::string::npos);
    }
    CHECK(logged.size() == 5);
}

TEST_CASE("a status that does not end the exchange is never sent: 500, and the next request gets its own answer") {
    // A 1xx is interim (RFC 9110 15.2): sent as the answer, the client (or a proxy) would take
    // the next response for this request's and wait for its own. A number outside 100 to 599
    // would be written as three digits that are no status.
    std::vector<std::string> logged;
    connection_config cfg;
    cfg.error_log = [&](std::string_view m) { logged.emplace_back(m); };
    auto app = [](request const& req) {
        if (auto code = req.query("code"))
            return response::text("body-for-" + *code, static_cast<status>(std::stoul(*code)));
        return response::text("path=" + std::string(req.path()));
    };
    for (std::string code : {"100", "101", "103", "199", "99", "0", "600", "1000"}) {
        for (std::string version : {"HTTP/1.1", "HTTP/1.0"}) {
            CAPTURE(code);
            CAPTURE(version);
            logged.clear();
            client c(app, cfg);
            std::string keep = version == "HTTP/1.0" ? "Connection: keep-alive\r\n" : "";
            c.send("GET /?code=" + code + " " + version + "\r\nHost: t\r\n" + keep + "\r\n" + "GET /next " + version +
                   "\r\nHost: t\r\n" + keep + "\r\n");
            auto rs = c.responses();
            REQUIRE(rs.size() == 2);
            CHECK(rs[0].status == 500);
            CHECK(rs[1].status == 200);
            CHECK(rs[1].body == "path=/next");
            CHECK(c.output().find("body-for-") == std::string::npos);
            CHECK(c.output().find("HTTP/1.1 1") == std::string::npos);  // no interim line at all
            REQUIRE(logged.size() == 1);
            CHECK(logged[0] == "response refused: status " + code +
                                   " does not end the exchange (RFC 9110 15: 2xx to 5xx) (GET /?code=" + code + ")");
        }
    }
}

TEST_CASE("error pages never echo request data") {
    recorder app;
    client c(app);
    c.send("GET /<script>alert(1)</script> HTTP/1.1\r\nHost: t\r\nX-Bad\x01: <b>\r\n\r\n");
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 400);
    CHECK(rs[0].body == "Bad Request");
    CHECK(c.output().find("script") == std::string::npos);
}

TEST_CASE("unknown methods and CONNECT get 501, and the connection goes on") {
    recorder app;
    client c(app);
    c.send("BREW /pot HTTP/1.1\r\nHost: t\r\n\r\nCONNECT a.b:443 HTTP/1.1\r\nHost: a.b:443\r\n\r\n" + get("/x"));
    auto rs = c.responses();
    REQUIRE(rs.size() == 3);
    CHECK(rs[0].status == 501);
    CHECK(rs[1].status == 501);
    CHECK(rs[2].status == 200);
    CHECK(app.paths == std::vector<std::string>{"/x"});
}

TEST_CASE("the path is decoded once, segment-safe; a malformed escape is 400") {
    struct seen_t {
        std::string path, raw, query;
    } seen;
    auto app = [&](request const& req) {
        seen = {std::string(req.path()), std::string(req.raw_path()), std::string(req.query_string())};
        return "ok";
    };
    client c(app);
    c.send(get("/a%20b/c%2Fd/%252F?x=%41&y"));
    CHECK(seen.path == "/a b/c%2Fd/%252F");
    CHECK(seen.raw == "/a%20b/c%2Fd/%252F");
    CHECK(seen.query == "x=%41&y");
    client bad(app);
    bad.send(get("/a%zz"));
    CHECK(bad.responses().at(0).status == 400);
    client absolute(app);
    absolute.send("GET http://example.com/abs?q=1 HTTP/1.1\r\nHost: other\r\n\r\n");
    CHECK(seen.path == "/abs");
    CHECK(seen.query == "q=1");
}

TEST_CASE("an https target on a connection that is not secured is 421, as is another scheme; an http one is served") {
    // RFC 9110 7.4: a request for an "https" resource MUST be rejected unless it came over a
    // connection secured for it (test_tls_server.cpp serves one over TLS); nor is an HTTP server
    // authoritative for "ftp" or "ws" URIs (4.3).
    for (std::string target :
         {"https://t/p", "HTTPS://t/p?q", "https://t", "ftp://t/p", "ws://t/p", "foo+bar://t/", "httpx://t/p"}) {
        CAPTURE(target);
        recorder app;
        client c(app);
        c.send("GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\nGET /next HTTP/1.1\r\nHost: t\r\n\r\n");
        auto rs = c.responses();
        REQUIRE(rs.size() == 2);
        CHECK(rs[0].status == 421);
        CHECK(rs[1].status == 200);  // framing is sound: the connection goes on
        CHECK(app.paths == std::vector<std::string>{"/next"});
    }
    recorder app;
    client c(app);
    c.send("GET http://t/p HTTP/1.1\r\nHost: t\r\n\r\nGET HTTP://t/q HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(c.responses().at(0).status == 200);
    CHECK(c.responses().at(1).status == 200);
    CHECK(app.paths == std::vector<std::string>{"/p", "/q"});
}

TEST_CASE("the request exposes headers, query, body and cookies") {
    std::string got;
    auto app = [&](request const& req) {
        got = std::string(req.header("x-custom").value_or("")) + "|" + req.query("q").value_or("-") + "|" +
              std::string(req.cookie("sid").value_or("-")) + "|" + std::string(req.body()) + "|" +
              std::to_string(req.version().minor) + "|" + (req.keep_alive() ? "ka" : "close");
        return "ok";
    };
    client c(app);
    c.send(
        "POST /p?q=a+b%21 HTTP/1.1\r\nHost: t\r\nX-Custom: v\r\nCookie: a=1; sid=xyz\r\nContent-Length: 4\r\n\r\nbody");
    CHECK(got == "v|a b!|xyz|body|1|ka");
}

TEST_CASE("return values convert: string, literal, status, optional") {
    auto s = [](request const&) { return std::string("str"); };
    auto lit = [](request const&) { return "literal"; };
    auto st = [](request const&) { return status::accepted; };
    auto opt = [](request const& req) -> std::optional<std::string> {
        if (req.path() == "/none") return std::nullopt;
        return "some";
    };
    CHECK(testing::get(s, "/").body == "str");
    CHECK(testing::get(lit, "/").body == "literal");
    CHECK(testing::get(lit, "/").header("Content-Type") == "text/plain; charset=utf-8");
    auto r = testing::get(st, "/");
    CHECK(r.status == 202);
    CHECK(r.body.empty());
    CHECK(testing::get(opt, "/none").status == 404);
    CHECK(testing::get(opt, "/x").body == "some");
    static_assert(application<decltype(s)>);
    static_assert(!application<int>);
    static_assert(!application<decltype([](int) { return "x"; })>);
    static_assert(!application<decltype([](request const&) { return 42; })>);
}

TEST_CASE("response constructors set status and content type") {
    CHECK(response::html("<p>").content_type() == "text/html; charset=utf-8");
    CHECK(response::json("{}").content_type() == "application/json");
    auto r = response::redirect("/there", status::see_other);
    CHECK(r.status() == status::see_other);
    CHECK(r.header("Location") == "/there");
    CHECK(response(status::not_found).status() == status::not_found);
    auto t = response::text("x").set_header("X-A", "1").set_header("x-a", "2");
    CHECK(t.header("X-A") == "2");
    CHECK(t.headers().size() == 1);
}

// Whether the connection stays open is the connection's to say; an application's Connection
// field that lists close closes it, one that lists keep-alive is dropped, other options go out.
TEST_CASE("an application's Connection field: close closes, keep-alive and framing names are dropped, others go out") {
    auto app = [](request const& req) {
        response r = response::static_text("x", "text/plain");
        if (req.path() == "/close") r.set_header("Connection", "Upgrade, close");
        if (req.path() == "/keep") r.set_header("Connection", "Keep-Alive");
        if (req.path() == "/upgrade") r.set_header("Upgrade", "websocket").set_header("Connection", "Upgrade");
        if (req.path() == "/framing")
            r.set_header("Connection", "Content-Length, keep-alive, X-Hop, Transfer-Encoding");
        if (req.path() == "/second") r.add_header("Connection", "X-Hop").add_header("Connection", "close");
        return r;
    };
    testing::client c(app);
    c.send(get("/keep") + get("/upgrade") + get("/framing") + get("/close") + get("/after"));
    auto rs = c.responses();
    REQUIRE(rs.size() == 4);
    CHECK(!rs[0].header("Connection").has_value());
    CHECK(rs[1].header("Connection") == "Upgrade");
    CHECK(rs[2].header("Connection") == "X-Hop");  // never the framing fields: a proxy would strip them
    CHECK(rs[3].header("Connection") == "Upgrade");
    CHECK(c.output().find("Connection: close\r\n") != std::string::npos);
    CHECK(c.output().find("Upgrade, close") == std::string::npos);
    CHECK(c.closed());
    // close in a second field closes too
    testing::client second(app);
    second.send(get("/second") + get("/after"));
    REQUIRE(second.responses().size() == 1);
    CHECK(second.output().find("Connection: X-Hop\r\n") != std::string::npos);
    CHECK(second.output().find("Connection: close\r\n") != std::string::npos);
    CHECK(second.closed());
}

TEST_CASE("phase tells the driver which timeout applies; a read timeout answers 408") {
    recorder app;
    connection conn(app);
    CHECK(conn.phase() == connection_phase::idle);
    conn.feed(std::string_view("GET / HT"));
    CHECK(conn.phase() == connection_phase::reading_headers);
    conn.feed(std::string_view("TP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\na"));
    CHECK(conn.phase() == connection_phase::reading_body);
    conn.timeout();
    CHECK(conn.phase() == connection_phase::writing);
    auto out = conn.pending_output();
    REQUIRE(!out.empty());
    CHECK(out[0].memory.substr(0, 12) == "HTTP/1.1 408");
    std::string whole;
    for (auto const& ch : out) whole.append(ch.memory);
    CHECK(testing::parse_responses(whole).at(0).header("Connection") == "close");  // RFC 9112 9.6
    conn.written(whole.size());
    CHECK(conn.phase() == connection_phase::closed);
    CHECK(conn.should_close());
}

TEST_CASE("a write timeout ends the connection: nothing more is written, the driver closes at once") {
    recorder app;
    connection conn(app);
    conn.feed(std::string_view(get("/a")));
    REQUIRE(conn.phase() == connection_phase::writing);
    conn.written(5);  // a peer that read a little, then stopped
    conn.timeout();
    CHECK(conn.should_close());
    CHECK_FALSE(conn.has_output());
    CHECK(conn.pending_output().empty());
    CHECK(conn.phase() == connection_phase::closed);
    CHECK_FALSE(conn.wants_read());
    // The 408 a read timeout queues gets the write clock; if that runs out too, the same.
    connection slow(app);
    slow.feed(std::string_view("GET / HT"));
    slow.timeout();
    REQUIRE(slow.phase() == connection_phase::writing);
    slow.timeout();
    CHECK(slow.should_close());
    CHECK_FALSE(slow.has_output());
    // A refused request's answer that is not read: nothing left to send, nothing to linger for.
    connection refused(app);
    refused.feed(std::string_view("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999\r\n\r\n"));
    REQUIRE(refused.phase() == connection_phase::writing);
    REQUIRE(refused.closes_before_input_ends());
    refused.timeout();
    CHECK_FALSE(refused.has_output());
    CHECK_FALSE(refused.closes_before_input_ends());
}

// A mailbox lives in a shared_ptr (the links other threads hold share it): a raw pointer to one
// does not attach, where it compiled and then ended the program at the first later answer.
template <class Box>
concept attaches_with = requires(connection<recorder>& c, Box box) {
    c.attach(box, nullptr);
};
static_assert(attaches_with<std::shared_ptr<mailbox>>);
static_assert(!attaches_with<mailbox*>);
// Nor does a temporary one, which would be gone at once.
template <class Box>
concept attaches_a_temporary = requires(connection<recorder>& c) {
    c.attach(Box{}, nullptr);
};
static_assert(!attaches_a_temporary<std::shared_ptr<mailbox>>);

TEST_CASE("the peer's end of input lets queued responses finish, then closes") {
    recorder app;
    client c(app);
    c.send(get("/a") + "GET /partial HTTP/1.1\r\n");
    c.close_input();
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(c.closed());
}

TEST_CASE("hostile corpus through the connection: status and close as the index says") {
    auto app = [](request const& req) { return response::text(std::string(req.body())); };
    std::size_t count = 0;
    for (auto const& folder : test_support::corpus_folders("hostile")) {
        for (auto const& row : test_support::read_index(folder.path + "/index.tsv")) {
            count += !folder.extra;
            auto expected = test_support::cell(row, "expected");
            if (expected == "no-escape") continue;
            auto file = test_support::cell(row, "file");
            CAPTURE(file);
            CAPTURE(expected);
            client c(app);
            c.send(test_support::read_file(folder.path + "/" + file));
            auto rs = c.responses();
            std::vector<parsed_response> finals;
            for (auto& r : rs)
                if (r.status >= 200) finals.push_back(r);
            if (finals.empty()) {
                CHECK(expected.find("100") != std::string::npos);
                CHECK(!rs.empty());
                CHECK(rs[0].status == 100);
                continue;
            }
            bool ok = false;
            unsigned st = finals[0].status;
            bool last = finals.size() == 1;
            for (auto const& t : test_support::split_on(expected, '|')) {
                if (t == "ok") ok |= st < 400 || st == 404 || st == 405;
                else if (t == "ok-close") ok |= st < 400 && last && c.closed();
                else if (t == "400") ok |= st == 400 && last && c.closed();
                else ok |= std::to_string(st) == t;
            }
            CHECK(ok);
            if (st >= 400 && st != 501) CHECK(c.closed());
        }
    }
    CHECK(count >= 90);
}

#include <porthole/template.hpp>

TEST_CASE("a rendered template converts to a text/html response") {
    auto app = [](request const&) {
        static constexpr auto page = make_template<"<p>@@who@@</p>">();
        return page.render(arg<"who">("<you>"));
    };
    auto r = testing::get(app, "/");
    CHECK(r.status == 200);
    CHECK(r.header("Content-Type") == "text/html; charset=utf-8");
    CHECK(r.body == "<p>&lt;you&gt;</p>");
}

TEST_CASE("recycle() makes a used connection as good as new, whatever state it was left in") {
    auto app = [](request const& req) {
        if (req.path() == "/big") return response::text(std::string(100000, 'b'));  // held, not copied
        return response::text("peer=" + std::string(req.peer()) + " path=" + std::string(req.path()));
    };
    connection<decltype(app)> conn(app);
    // A fresh connection's answer, the one a recycled connection must give too.
    conn.set_peer("10.0.0.1:1000");
    conn.feed(std::string_view(get("/x")));
    std::string fresh = write_all(conn);
    REQUIRE(fresh.find("peer=10.0.0.1:1000 path=/x") != std::string::npos);

    SUBCASE("after output was left unwritten, a request half read and a held body") {
        conn.feed(std::string_view(get("/big") + "GET /half HTTP/1.1\r\nHo"));
        CHECK(conn.has_output());
        CHECK(conn.phase() == connection_phase::writing);
    }
    SUBCASE("after a parse error closed it") {
        conn.feed(std::string_view("GET / HTTP/9.9\r\n\r\n"));
        CHECK(conn.should_close());
    }
    SUBCASE("after the peer's end of input") {
        conn.read_eof();
        CHECK(!conn.wants_read());
    }
    conn.recycle();
    CHECK(!conn.has_output());
    CHECK(conn.phase() == connection_phase::idle);
    CHECK(conn.wants_read());
    CHECK(!conn.should_close());
    CHECK(conn.requests_served() == 0);
    conn.set_peer("10.0.0.1:1000");
    conn.feed(std::string_view(get("/x")));
    std::string again = write_all(conn);
    // Identical but for the Date, which may have moved on a second.
    CHECK(with_dates_masked(again) == with_dates_masked(fresh));
    CHECK(conn.requests_served() == 1);
    // And the peer is not carried over.
    conn.recycle();
    conn.feed(std::string_view(get("/y")));
    CHECK(write_all(conn).find("peer= path=/y") != std::string::npos);
}

TEST_CASE("a stop that finds a queued keep-alive response unsent makes it say Connection: close") {
    auto app = [](request const& req) { return std::string(req.path()); };
    SUBCASE("HTTP/1.1: the field is added, the body and framing stay") {
        connection<decltype(app)> conn(app);
        conn.feed(std::string_view(get("/first") + get("/second")));
        conn.drain();  // the server is asked to stop before a byte went out
        auto rs = porthole::testing::parse_responses(write_all(conn));
        REQUIRE(rs.size() == 2);
        CHECK_FALSE(rs[0].header("Connection").has_value());  // another response follows it
        CHECK(rs[0].body == "/first");
        CHECK(rs[1].header("Connection") == "close");
        CHECK(rs[1].body == "/second");
        CHECK(conn.should_close());
        CHECK(!conn.wants_read());
        CHECK(conn.phase() == connection_phase::closed);
    }
    SUBCASE("HTTP/1.0 keep-alive: keep-alive becomes close") {
        connection<decltype(app)> conn(app);
        conn.feed(std::string_view("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
        conn.drain();
        auto out = write_all(conn);
        CHECK(out.find("keep-alive") == std::string::npos);
        auto rs = porthole::testing::parse_responses(out);
        REQUIRE(rs.size() == 1);
        CHECK(rs[0].header("Connection") == "close");
        CHECK(rs[0].body == "/old");
    }
    SUBCASE("behind a large held body whose head already went out") {
        auto big = [](request const& req) { return response::text(std::string(100000, req.path()[1])); };
        connection<decltype(big)> conn(big);
        conn.feed(std::string_view(get("/a")));
        auto first = conn.pending_output();
        REQUIRE(!first.empty());
        std::string out(first[0].memory);
        conn.written(out.size());  // the first head went out
        conn.feed(std::string_view(get("/b")));
        conn.drain();
        out += write_all(conn);
        auto rs = porthole::testing::parse_responses(out);
        REQUIRE(rs.size() == 2);
        CHECK_FALSE(rs[0].header("Connection").has_value());
        CHECK(rs[0].body == std::string(100000, 'a'));
        CHECK(rs[1].header("Connection") == "close");
        CHECK(rs[1].body == std::string(100000, 'b'));
    }
    SUBCASE("a head that has started going out is left as it is; the server closes after it") {
        connection<decltype(app)> conn(app);
        conn.feed(std::string_view(get("/first")));
        std::string out(conn.pending_output()[0].memory.substr(0, 5));
        conn.written(5);
        conn.drain();
        out += write_all(conn);
        auto rs = porthole::testing::parse_responses(out);
        REQUIRE(rs.size() == 1);
        CHECK_FALSE(rs[0].header("Connection").has_value());
        CHECK(rs[0].body == "/first");
    }
    SUBCASE("input waiting behind it is answered with Connection: close instead") {
        connection<decltype(app)> conn(app);
        conn.feed(std::string_view(get("/first") + "GET /sec"));
        conn.drain();
        conn.feed(std::string_view("ond HTTP/1.1\r\nHost: t\r\n\r\n"));
        auto rs = porthole::testing::parse_responses(write_all(conn));
        REQUIRE(rs.size() == 2);
        CHECK_FALSE(rs[0].header("Connection").has_value());
        CHECK(rs[1].header("Connection") == "close");
        CHECK(rs[1].body == "/second");
    }
}

// The access log (access_log.hpp): the entry a log function receives, the layer that writes one
// per response, and Common Log Format lines.
#include <porthole/access_log.hpp>
#include <porthole/testing.hpp>

#include <doctest/doctest.h>

#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace porthole;

namespace {

// Answers 403 when the request has X-Deny.
struct gate {
    std::optional<response> before(request const& req) const {
        if (req.header("X-Deny")) return response::text("denied", status::forbidden);
        return std::nullopt;
    }
};

// What common_log writes for one entry.
std::string clf_line(access_entry const& e) {
    char buf[4096] = {};
    FILE* f = fmemopen(buf, sizeof buf, "w");
    REQUIRE(f);
    common_log(f)(e);
    std::fclose(f);
    return buf;
}

// The text after the time stamp: from the request line's opening quote on.
std::string after_stamp(std::string const& line) { return line.substr(line.find("] ") + 2); }

}  // namespace

TEST_CASE("the access log layer writes one entry per response with the status and body size it sees") {
    std::vector<std::string> lines;
    auto log = [&](access_entry const& e) {
        lines.push_back(std::string(e.method) + " " + std::string(e.target) + " " + std::to_string(to_int(e.status)) +
                        " " + std::to_string(e.body_bytes));
    };
    auto app = layers{access_log(log), gate{}}([](request const&) { return "hello"; });
    testing::client c(app);
    c.send(
        "GET /a?x=1 HTTP/1.1\r\nHost: t\r\n\r\n"
        "HEAD /b HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /c HTTP/1.1\r\nHost: t\r\nX-Deny: 1\r\n\r\n");
    REQUIRE(c.responses({false, true, false}).size() == 3);
    CHECK(lines == std::vector<std::string>{"GET /a?x=1 200 5", "HEAD /b 200 0", "GET /c 403 6"});
}

TEST_CASE("common_log formats the layer's entries as the connection's") {
    char buf[512] = {};
    FILE* f = fmemopen(buf, sizeof buf, "w");
    REQUIRE(f);
    auto app = layers{access_log(common_log(f))}([](request const&) { return "hello"; });
    testing::client c(app);
    c.conn().set_peer("203.0.113.7:5555");
    std::time_t before = std::time(nullptr);
    c.send("GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
    std::time_t after = std::time(nullptr);
    std::fclose(f);
    std::string line = buf;
    CHECK(line.starts_with("203.0.113.7 - - ["));
    CHECK(line.ends_with("\"GET /x HTTP/1.1\" 200 5\n"));
    // The time as the C library's gmtime and strftime write it, in the C locale.
    auto clf_time = [](std::time_t t) {
        std::tm tm{};
        gmtime_r(&t, &tm);
        char out[64];
        return std::string(out, std::strftime(out, sizeof out, "[%d/%b/%Y:%H:%M:%S +0000]", &tm));
    };
    std::string stamp = line.substr(line.find('['), line.find(']') - line.find('[') + 1);
    CHECK((stamp == clf_time(before) || stamp == clf_time(after)));
}

TEST_CASE("the entry carries peer, method, target and version as the request had them") {
    std::vector<access_entry> entries;
    std::vector<std::string> texts;
    auto app = layers{access_log([&](access_entry const& e) {
        entries.push_back(e);
        texts.push_back(std::string(e.peer) + "|" + std::string(e.method) + "|" + std::string(e.target));
    })}([](request const& req) {
        if (req.path() == "/empty") return response(status::no_content);
        return response::text("abc");
    });
    // Called as a connection calls it, without one (which each application type would compile again).
    request::parts p;
    p.peer = "[2001:db8::1]:4321";
    p.target = "/q?a=b%20c";
    p.path = "/q";
    p.query = "a=b%20c";
    p.version = version{1, 0};
    CHECK(app(request(p)).status() == status::ok);
    p.method = method::delete_;
    p.method_name = "DELETE";
    p.target = p.path = "/empty";
    p.query = {};
    p.version = version{1, 1};
    CHECK(app(request(p)).status() == status::no_content);
    REQUIRE(entries.size() == 2);
    CHECK(texts[0] == "[2001:db8::1]:4321|GET|/q?a=b%20c");
    CHECK(entries[0].version == version{1, 0});
    CHECK(entries[0].status == status::ok);
    CHECK(entries[0].body_bytes == 3);
    CHECK(texts[1] == "[2001:db8::1]:4321|DELETE|/empty");
    CHECK(entries[1].version == version{1, 1});
    CHECK(entries[1].status == status::no_content);
    CHECK(entries[1].body_bytes == 0);  // a status that has no body counts none
}

TEST_CASE("an empty log function is no log: requests are answered as without it") {
    auto app = layers{access_log(access_log_function{})}([](request const&) { return "ok"; });
    auto r = app(request{});
    CHECK(r.status() == status::ok);
    CHECK(r.body_view() == "ok");
}

TEST_CASE("common_log: the host without port or brackets, '-' for none, the request line and the numbers") {
    access_entry e{"[2001:db8::7]:443", "POST", "/form", version{1, 0}, status::not_found, 12345678901ull};
    CHECK(after_stamp(clf_line(e)) == "\"POST /form HTTP/1.0\" 404 12345678901\n");
    CHECK(clf_line(e).starts_with("2001:db8::7 - - ["));
    e.peer = "192.0.2.9:80";
    CHECK(clf_line(e).starts_with("192.0.2.9 - - ["));
    e.peer = "";
    CHECK(clf_line(e).starts_with("- - - ["));
    // An answer to input that was no request: "-" for method and target.
    access_entry error{"192.0.2.9:80", "-", "-", version{1, 1}, status::bad_request, 0};
    CHECK(after_stamp(clf_line(error)) == "\"- - HTTP/1.1\" 400 0\n");
}

TEST_CASE("common_log: a quote or backslash in the target is written as \\x22 or \\x5C, as nginx does") {
    access_entry e{"192.0.2.9:80", "GET", R"(/a"b\c" 200 1 "x)", version{1, 1}, status::ok, 2};
    CHECK(after_stamp(clf_line(e)) == R"("GET /a\x22b\x5Cc\x22 200 1 \x22x HTTP/1.1" 200 2)"
                                      "\n");
}

TEST_CASE("common_log: each field is cut to its share of the line as written, so the status and size always end it") {
    std::string target = "/" + std::string(3000, 'a');
    access_entry e{"192.0.2.9:80", "GET", target, version{1, 1}, status::ok, 1};
    auto line = clf_line(e);
    CHECK(line.find("\"GET /" + std::string(1023, 'a') + " HTTP/1.1\" 200 1\n") != std::string::npos);
    CHECK(line.find(std::string(1024, 'a')) == std::string::npos);
    // Escapes count: a user-id of 300 bytes of 0xFF (1,200 written) and a target of quotes
    // filled the line before its status and size, which were cut off.
    std::string user(300, '\xff');
    std::string quotes = "/" + std::string(1500, '"');
    access_entry escaped{"192.0.2.9:80", "GET", quotes, version{1, 1}, status::not_found, 7, true, user};
    line = clf_line(escaped);
    CHECK(line.ends_with("\" 404 7\n"));
    CHECK(line.find('\n') == line.size() - 1);
    std::string written_user;
    for (int i = 0; i < 64; ++i) written_user += "\\xFF";  // 256 bytes: whole escapes only
    CHECK(line.find(" - " + written_user + " [") != std::string::npos);
    CHECK(line.find("\\xFF\\xFF", line.find(" [")) == std::string::npos);
    std::string written_target = "/";
    for (int i = 0; i < 255; ++i) written_target += "\\x22";  // 1 + 1,020 bytes: the next would pass 1,024
    CHECK(line.find("\"GET " + written_target + " HTTP/1.1\"") != std::string::npos);
    // A method is a token; one of 3,000 bytes is cut at 64.
    std::string method(3000, 'M');
    access_entry huge{"192.0.2.9:80", method, target, version{1, 1}, status::ok, 1};
    line = clf_line(huge);
    CHECK(line.ends_with("\" 200 1\n"));
    CHECK(line.find("\"" + std::string(64, 'M') + " /") != std::string::npos);
}

TEST_CASE("a streamed body's size is not known when the entry is written: '-' in Common Log Format") {
    std::vector<std::string> layer_lines, connection_lines;
    auto describe = [](access_entry const& e) {
        return std::string(e.target) + " " + std::to_string(to_int(e.status)) + " " +
               (e.body_size_known ? std::to_string(e.body_bytes) : std::string("unknown"));
    };
    auto app = layers{access_log([&](access_entry const& e) { layer_lines.push_back(describe(e)); })}(
        [](request const& req) -> response {
            if (req.path() == "/stream") {
                auto left = std::make_shared<int>(3);
                return response::stream([left]() -> std::optional<std::string> {
                    if ((*left)-- == 0) return std::nullopt;
                    return std::string("piece");
                });
            }
            return response::text("hello");
        });
    connection_config cfg;
    cfg.access_log = [&](access_entry const& e) { connection_lines.push_back(describe(e)); };
    testing::client c(app, cfg);
    c.send(
        "GET /stream HTTP/1.1\r\nHost: t\r\n\r\n"
        "HEAD /stream HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /text HTTP/1.1\r\nHost: t\r\n\r\n");
    auto rs = c.responses({false, true, false});
    REQUIRE(rs.size() == 3);
    CHECK(rs[0].body == "piecepiecepiece");
    auto want = std::vector<std::string>{"/stream 200 unknown", "/stream 200 0", "/text 200 5"};
    CHECK(layer_lines == want);
    CHECK(connection_lines == want);

    access_entry streamed{"127.0.0.1:1", "GET", "/stream", http_1_1, status::ok, 0, false};
    CHECK(after_stamp(clf_line(streamed)) == "\"GET /stream HTTP/1.1\" 200 -\n");
    access_entry sized{"127.0.0.1:1", "GET", "/empty", http_1_1, status::ok, 0};
    CHECK(after_stamp(clf_line(sized)) == "\"GET /empty HTTP/1.1\" 200 0\n");
}

TEST_CASE("the layer's entry names the user-id of the request's Basic credentials, accepted or not") {
    std::vector<std::string> users;
    auto app = layers{access_log([&](access_entry const& e) {
                          users.push_back(std::string(e.user) + " " + std::to_string(to_int(e.status)));
                      }),
                      basic_auth("t", "alice", "secret")}([](request const&) { return "hello"; });
    testing::client c(app);
    auto basic = [](std::string const& pair) { return "Authorization: Basic " + base64::encode(pair) + "\r\n"; };
    c.send("GET / HTTP/1.1\r\nHost: t\r\n" + basic("alice:secret") + "\r\n");
    c.send("GET / HTTP/1.1\r\nHost: t\r\n" + basic("mallory:guess") + "\r\n");
    c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    c.send("GET / HTTP/1.1\r\nHost: t\r\nAuthorization: Basic !!\r\n\r\n");  // not base64: no user-id
    c.send("GET / HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer abc\r\n\r\n");
    REQUIRE(c.responses().size() == 5);
    // As nginx's $remote_user: the user-id sent, whether or not it was let in.
    CHECK(users == std::vector<std::string>{"alice 200", "mallory 401", " 401", " 401", " 401"});
}

TEST_CASE("common_log: the user-id between the dashes, '-' for none, escaped where it could split the line") {
    access_entry e{"192.0.2.9:80", "GET", "/", version{1, 1}, status::ok, 2};
    CHECK(clf_line(e).starts_with("192.0.2.9 - - ["));
    e.user = "alice";
    CHECK(clf_line(e).starts_with("192.0.2.9 - alice ["));
    e.user = R"(a b"c\d)";
    CHECK(clf_line(e).starts_with(R"(192.0.2.9 - a\x20b\x22c\x5Cd [)"));
    std::string long_user(1000, 'u');
    e.user = long_user;
    auto line = clf_line(e);
    CHECK(line.starts_with("192.0.2.9 - " + std::string(256, 'u') + " ["));
    CHECK(after_stamp(line) == "\"GET / HTTP/1.1\" 200 2\n");
}

TEST_CASE("common_log: a control or a byte from 0x7F up is written as \\xHH, as nginx does") {
    access_entry e{"192.0.2.9:80", "GET", "/", version{1, 1}, status::ok, 2};
    e.user = "a\x9b[31mred";  // an 8-bit CSI: a control sequence on a terminal that reads it
    CHECK(clf_line(e).starts_with(R"(192.0.2.9 - a\x9B[31mred [)"));
    e.user = "x\xe2\x80\xaegnp.exe";  // U+202E, a right-to-left override
    CHECK(clf_line(e).starts_with(R"(192.0.2.9 - x\xE2\x80\xAEgnp.exe [)"));
    e.user = std::string_view("\x1b\x7f\0t", 4);
    CHECK(clf_line(e).starts_with(R"(192.0.2.9 - \x1B\x7F\x00t [)"));
    e.user = "\xc3\xa9";  // UTF-8 too: a log line is ASCII
    CHECK(clf_line(e).starts_with(R"(192.0.2.9 - \xC3\xA9 [)"));
    e.user = {};
    e.target = "/a\x7f\x80";
    CHECK(after_stamp(clf_line(e)) == "\"GET /a\\x7F\\x80 HTTP/1.1\" 200 2\n");
}

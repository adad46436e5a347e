#include <porthole/testing.hpp>
#include <porthole/websocket_handshake.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace porthole;

namespace {

std::string hex(porthole::detail::sha1::digest const& d) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s;
    for (auto b : d) {
        s += digits[b >> 4];
        s += digits[b & 15];
    }
    return s;
}

// An upgrade request as RFC 6455 1.2 shows it; tests change or drop fields.
struct upgrade_request {
    std::vector<header_field> fields{
        {"Host", "server.example.com"},  {"Upgrade", "websocket"},
        {"Connection", "Upgrade"},       {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
        {"Sec-WebSocket-Version", "13"},
    };
    porthole::method method = method::get;
    porthole::version version = http_1_1;
    std::string_view body;
    std::string_view target = "/chat";

    upgrade_request& set(std::string_view name, std::string_view value) {
        for (auto& f : fields)
            if (iequals(f.name, name)) {
                f.value = value;
                return *this;
            }
        return add(name, value);
    }
    upgrade_request& add(std::string_view name, std::string_view value) {
        fields.push_back({name, value});
        return *this;
    }
    upgrade_request& drop(std::string_view name) {
        std::erase_if(fields, [&](header_field const& f) { return iequals(f.name, name); });
        return *this;
    }
    request get() const {
        request::parts p;
        p.method = method;
        p.method_name = to_string(method);
        p.version = version;
        p.target = target;
        p.path = p.raw_path = "/chat";
        p.headers = fields;
        p.body = body;
        return request(p);
    }
    ws::handshake answer(ws::handshake_options const& o = {}) const { return ws::accept_handshake(get(), o); }
    unsigned status(ws::handshake_options const& o = {}) const { return to_int(answer(o).response.status()); }
};

}  // namespace

TEST_CASE("sha1: the FIPS 180 and RFC 3174 test vectors") {
    using porthole::detail::sha1;
    CHECK(hex(sha1::of("abc")) == "a9993e364706816aba3e25717850c26c9cd0d89d");
    CHECK(hex(sha1::of("")) == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    CHECK(hex(sha1::of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
          "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    sha1 million;
    std::string thousand(1000, 'a');
    for (int i = 0; i < 1000; ++i) million.update(thousand);
    CHECK(hex(million.finish()) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    sha1 repeated;  // RFC 3174 test 4: "01234567" x 8, 10 times
    for (int i = 0; i < 80; ++i) repeated.update("01234567");
    CHECK(hex(repeated.finish()) == "dea356a2cddd90c7a7ecedc5ebb563934f460452");
}

TEST_CASE("sha1: any split of the input and every length around the block boundaries") {
    using porthole::detail::sha1;
    std::string text;
    for (int i = 0; i < 200; ++i) text += static_cast<char>('a' + i % 26);
    for (std::size_t n : {55u, 56u, 57u, 63u, 64u, 65u, 119u, 120u, 128u, 200u}) {
        auto whole = sha1::of(std::string_view(text).substr(0, n));
        for (std::size_t cut = 0; cut <= n; cut += 7) {
            sha1 s;
            s.update(std::string_view(text).substr(0, cut)).update(std::string_view(text).substr(cut, n - cut));
            CHECK(s.finish() == whole);
        }
    }
    CHECK(hex(sha1::of(std::string_view(text).substr(0, 64))) ==
          hex(sha1().update(std::string_view(text).substr(0, 64)).finish()));
}

TEST_CASE("Sec-WebSocket-Accept: the example of RFC 6455 section 1.3") {
    CHECK(ws::accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("handshake: a valid request gets 101 with Upgrade, Connection and Sec-WebSocket-Accept") {
    auto h = upgrade_request().answer();
    REQUIRE(h.accepted());
    CHECK(h.response.header("Upgrade") == "websocket");
    CHECK(h.response.header("Connection") == "Upgrade");
    CHECK(h.response.header("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    CHECK_FALSE(h.response.header("Sec-WebSocket-Protocol").has_value());
    CHECK_FALSE(h.response.header("Sec-WebSocket-Extensions").has_value());
    CHECK_FALSE(h.deflate.has_value());
    // Tokens are case-insensitive, and lists may hold more.
    CHECK(upgrade_request().set("Upgrade", "WebSocket").set("Connection", "keep-alive, Upgrade").status() == 101);
    CHECK(upgrade_request().set("Upgrade", "foo/2, websocket").status() == 101);
    CHECK(upgrade_request().drop("Connection").add("Connection", "keep-alive").add("Connection", "upgrade").status() ==
          101);
}

TEST_CASE("handshake: not an upgrade to WebSocket, or another version: 426 naming version 13") {
    for (auto const& r :
         {upgrade_request().drop("Upgrade"), upgrade_request().set("Upgrade", "h2c"),
          upgrade_request().set("Sec-WebSocket-Version", "8"), upgrade_request().set("Sec-WebSocket-Version", "13, 8"),
          upgrade_request().set("Sec-WebSocket-Version", " 14"), upgrade_request().drop("Sec-WebSocket-Version"),
          upgrade_request().add("Sec-WebSocket-Version", "13")}) {
        auto h = r.answer();
        CHECK(to_int(h.response.status()) == 426);
        CHECK(h.response.header("Sec-WebSocket-Version") == "13");
        CHECK(h.response.header("Upgrade") == "websocket");
    }
    upgrade_request old;
    old.version = http_1_0;  // Upgrade is ignored in HTTP/1.0 (RFC 9110 7.8)
    CHECK(old.status() == 426);
    // HEAD gets what a GET without Upgrade gets (RFC 9110 9.3.2), not a 405 that would deny the
    // method OPTIONS lists for the route.
    upgrade_request head;
    head.method = method::head;
    auto h = head.answer();
    CHECK(to_int(h.response.status()) == 426);
    CHECK(h.response.header("Upgrade") == "websocket");
    CHECK_FALSE(h.response.header("Allow").has_value());
}

TEST_CASE("handshake: each malformed part is refused with its status") {
    upgrade_request post;
    post.method = method::post;
    CHECK(post.status() == 405);
    CHECK(post.answer().response.header("Allow") == "GET");
    CHECK(upgrade_request().drop("Connection").status() == 400);
    CHECK(upgrade_request().set("Connection", "keep-alive").status() == 400);
    CHECK(upgrade_request().drop("Sec-WebSocket-Key").status() == 400);
    CHECK(upgrade_request().set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ").status() == 400);    // no padding
    CHECK(upgrade_request().set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZTE=").status() == 400);  // 17 bytes
    CHECK(upgrade_request().set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25j").status() == 400);      // 15 bytes
    CHECK(upgrade_request().set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZR==").status() == 400);  // not canonical
    CHECK(upgrade_request().set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZ*==").status() == 400);
    CHECK(upgrade_request().add("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==").status() == 400);  // twice
    upgrade_request with_body;
    with_body.body = "x";
    CHECK(with_body.status() == 400);
    CHECK(upgrade_request().add("Transfer-Encoding", "chunked").status() == 400);
    CHECK(upgrade_request().add("Sec-WebSocket-Protocol", "chat, ").status() == 101);  // empty elements are skipped
    CHECK(upgrade_request().add("Sec-WebSocket-Protocol", "ch at").status() == 400);
    CHECK(upgrade_request().add("Sec-WebSocket-Protocol", "").status() == 400);
    CHECK(upgrade_request().add("Sec-WebSocket-Protocol", "a/b").status() == 400);
}

TEST_CASE("handshake: the subprotocol is the client's first choice that the server speaks") {
    ws::handshake_options o;
    o.subprotocols = {"v2.chat", "v1.chat"};
    auto h = upgrade_request().add("Sec-WebSocket-Protocol", "v1.chat, v2.chat").answer(o);
    CHECK(h.subprotocol == "v1.chat");
    CHECK(h.response.header("Sec-WebSocket-Protocol") == "v1.chat");
    h = upgrade_request().add("Sec-WebSocket-Protocol", "x").add("Sec-WebSocket-Protocol", "v2.chat").answer(o);
    CHECK(h.subprotocol == "v2.chat");
    h = upgrade_request().add("Sec-WebSocket-Protocol", "V1.CHAT, other").answer(o);  // names are case-sensitive
    CHECK(h.accepted());
    CHECK(h.subprotocol.empty());
    CHECK_FALSE(h.response.header("Sec-WebSocket-Protocol").has_value());
    CHECK(upgrade_request().answer(o).subprotocol.empty());
}

TEST_CASE("handshake: Origin, same-origin by default") {
    CHECK(upgrade_request().status() == 101);  // no Origin: not a page
    CHECK(upgrade_request().add("Origin", "http://server.example.com").status() == 101);
    CHECK(upgrade_request().add("Origin", "HTTPS://Server.Example.com").status() == 101);
    CHECK(upgrade_request().add("Origin", "http://server.example.com:80").status() == 101);
    CHECK(upgrade_request().add("Origin", "http://evil.example").status() == 403);
    CHECK(upgrade_request().add("Origin", "null").status() == 403);
    CHECK(upgrade_request().add("Origin", "http://server.example.com.evil").status() == 403);
    CHECK(upgrade_request().add("Origin", "http://server.example.com@evil").status() == 403);
    CHECK(upgrade_request().add("Origin", "file://server.example.com").status() == 403);
    auto local = upgrade_request().set("Host", "127.0.0.1:8080");
    CHECK(upgrade_request(local).add("Origin", "http://127.0.0.1:8080").status() == 101);
    CHECK(upgrade_request(local).add("Origin", "http://127.0.0.1:8081").status() == 403);
    CHECK(upgrade_request(local).add("Origin", "http://127.0.0.1").status() == 403);
    CHECK(upgrade_request(local).add("Origin", "http://localhost:8080").status() == 403);
    auto v6 = upgrade_request().set("Host", "[::1]:9000");
    CHECK(upgrade_request(v6).add("Origin", "http://[::1]:9000").status() == 101);
    CHECK(upgrade_request(v6).add("Origin", "http://[::2]:9000").status() == 403);
    CHECK(upgrade_request().add("Origin", "https://server.example.com:443").status() == 101);
    CHECK(upgrade_request().add("Origin", "http://server.example.com:").status() == 403);
    // A Host without a port names the default one: a page on another port is another origin
    // (a proxy that passes `$host` drops the port; the origin keeps it).
    CHECK(upgrade_request().add("Origin", "http://server.example.com:3000").status() == 403);
    CHECK(upgrade_request().add("Origin", "https://server.example.com:8443").status() == 403);
    CHECK(upgrade_request().add("Origin", "http://server.example.com:443").status() == 403);
    CHECK(upgrade_request().add("Origin", "https://server.example.com:80").status() == 403);
    auto no_port = upgrade_request().set("Host", "127.0.0.1");
    CHECK(upgrade_request(no_port).add("Origin", "http://127.0.0.1").status() == 101);
    CHECK(upgrade_request(no_port).add("Origin", "http://127.0.0.1:6666").status() == 403);
    // Two Origin fields: which page asks is unknown, in either order.
    auto same = "http://server.example.com", evil = "http://evil.example";
    CHECK(upgrade_request().add("Origin", same).add("Origin", evil).status() == 403);
    CHECK(upgrade_request().add("Origin", evil).add("Origin", same).status() == 403);
    CHECK(upgrade_request().add("Origin", same).add("Origin", same).status() == 403);
}

TEST_CASE("handshake: with an absolute-form target, the same origin is the target's authority, not Host") {
    // RFC 9112 3.2.2: an origin server ignores Host for an absolute-form target.
    auto absolute = upgrade_request().set("Host", "evil.example");
    absolute.target = "http://server.example.com:8080/chat";
    CHECK(upgrade_request(absolute).add("Origin", "http://evil.example").status() == 403);
    CHECK(upgrade_request(absolute).add("Origin", "http://server.example.com:8080").status() == 101);
    CHECK(upgrade_request(absolute).add("Origin", "http://server.example.com").status() == 403);
    absolute.target = "http://server.example.com?x=1";
    CHECK(upgrade_request(absolute).add("Origin", "http://server.example.com").status() == 101);
    // The target's scheme is the origin's, its default port too: http://h is port 80, not 443.
    CHECK(upgrade_request(absolute).add("Origin", "https://server.example.com").status() == 403);
    CHECK(upgrade_request(absolute).add("Origin", "https://server.example.com:80").status() == 403);
    absolute.target = "HTTPS://server.example.com/chat";
    CHECK(upgrade_request(absolute).add("Origin", "https://server.example.com").status() == 101);
    CHECK(upgrade_request(absolute).add("Origin", "http://server.example.com:443").status() == 403);
}

TEST_CASE("handshake: Origin policies the application chooses") {
    ws::handshake_options any;
    any.origin = ws::origin_policy::any();
    CHECK(upgrade_request().add("Origin", "http://evil.example").status(any) == 101);
    CHECK(upgrade_request().add("Origin", "http://a.example").add("Origin", "http://b.example").status(any) == 101);
    ws::handshake_options listed;
    listed.origin = ws::origin_policy::allow({"https://app.example"});
    CHECK(upgrade_request().add("Origin", "https://app.example").status(listed) == 101);
    CHECK(upgrade_request().add("Origin", "https://APP.example").status(listed) == 101);
    CHECK(upgrade_request().add("Origin", "http://server.example.com").status(listed) == 101);
    CHECK(upgrade_request().add("Origin", "https://other.example").status(listed) == 403);
    ws::handshake_options custom;
    custom.origin = ws::origin_policy::check([](std::string_view origin, request const& req) {
        return origin.ends_with(".trusted") && req.path() == "/chat";
    });
    CHECK(upgrade_request().add("Origin", "https://a.trusted").status(custom) == 101);
    CHECK(upgrade_request().add("Origin", "https://a.untrusted").status(custom) == 403);
}

TEST_CASE("handshake: is_upgrade_request tells a WebSocket request from a plain one") {
    CHECK(ws::is_upgrade_request(upgrade_request().get()));
    CHECK_FALSE(ws::is_upgrade_request(upgrade_request().drop("Upgrade").get()));
    CHECK_FALSE(ws::is_upgrade_request(upgrade_request().set("Upgrade", "h2c").get()));
}

TEST_CASE("an upgrade request to an application that does not take WebSocket is plain HTTP") {
    auto app = [](request const&) { return "plain"; };
    testing::client c(app);
    c.send(
        "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        "GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
    auto rs = c.responses();
    REQUIRE(rs.size() == 2);
    CHECK(rs[0].status == 200);
    CHECK(rs[0].body == "plain");
    CHECK_FALSE(rs[0].header("Sec-WebSocket-Accept").has_value());
    CHECK(rs[1].status == 200);
}

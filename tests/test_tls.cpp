// porthole/tls.hpp in memory: a tls::session and a connection on one side, an OpenSSL client
// on the other (porthole::testing::tls_client), with certificates made when the test runs.
#include "tls_test_certs.hpp"

#include <porthole/tls.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>

using namespace porthole;
using porthole::testing::tls_client;

namespace {

// Answers with what it learnt of the transport.
struct reporter {
    response operator()(request const& req) const {
        if (req.path() == "/big") return response::text(std::string(1 << 20, 'x'));
        return response::text(std::string(req.secure() ? "secure " : "plain ") + std::string(req.path()) + " [" +
                              std::string(req.client_subject()) + "]");
    }
};

std::string const& file(char const* name) {
    static std::map<std::string, std::string> paths;
    auto& p = paths[name];
    if (p.empty()) p = tls_test::shared_files().path(name);
    return p;
}

tls::config server_config() {
    tls::config c;
    c.server = {file("server.pem"), file("server.key")};
    return c;
}

struct client_ctx {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    explicit client_ctx(bool verify = true) {
        if (verify) {
            SSL_CTX_load_verify_locations(ctx, file("ca.pem").c_str(), nullptr);
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
        }
    }
    ~client_ctx() { SSL_CTX_free(ctx); }
    client_ctx(client_ctx const&) = delete;
    client_ctx& operator=(client_ctx const&) = delete;
    client_ctx& versions(int min, int max) {
        SSL_CTX_set_min_proto_version(ctx, min);
        SSL_CTX_set_max_proto_version(ctx, max);
        return *this;
    }
    client_ctx& alpn(std::string_view wire) {
        SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<unsigned char const*>(wire.data()),
                                static_cast<unsigned>(wire.size()));
        return *this;
    }
    client_ctx& certificate(char const* cert, char const* key) {
        SSL_CTX_use_certificate_file(ctx, file(cert).c_str(), SSL_FILETYPE_PEM);
        SSL_CTX_use_PrivateKey_file(ctx, file(key).c_str(), SSL_FILETYPE_PEM);
        return *this;
    }
};

std::string const get_request = "GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n";

std::string peer_common_name(SSL* ssl) {
    X509* cert = SSL_get0_peer_certificate(ssl);
    if (!cert) return {};
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    return cn;
}

}  // namespace

TEST_CASE("a request over TLS 1.3 is answered, and the application knows it came encrypted") {
    tls::context server(server_config());
    client_ctx client;
    reporter app;
    tls_client c(app, server, client.ctx);
    REQUIRE(c.handshake());
    CHECK(c.server_session().protocol() == "TLSv1.3");
    CHECK(SSL_get_verify_result(c.client_ssl()) == X509_V_OK);
    c.send(get_request);
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 200);
    CHECK(rs[0].body == "secure /hello []");
    // keep-alive: a second request on the same session
    c.send("GET /again HTTP/1.1\r\nHost: localhost\r\n\r\n");
    REQUIRE(c.responses().size() == 2);
    CHECK(c.responses()[1].body == "secure /again []");
}

TEST_CASE("TLS 1.2 is served with a forward-secret AEAD suite; older versions are refused") {
    tls::context server(server_config());
    reporter app;
    {
        client_ctx client;
        client.versions(TLS1_2_VERSION, TLS1_2_VERSION);
        tls_client c(app, server, client.ctx);
        REQUIRE(c.handshake());
        CHECK(c.server_session().protocol() == "TLSv1.2");
        std::string cipher(c.server_session().cipher());
        CHECK(cipher.find("ECDHE") == 0);
        CHECK((cipher.find("GCM") != std::string::npos || cipher.find("CHACHA20") != std::string::npos));
        c.send(get_request);
        CHECK(c.responses().at(0).body == "secure /hello []");
    }
    for (int old : {TLS1_VERSION, TLS1_1_VERSION}) {
        client_ctx client;
        client.versions(old, old);
        SSL_CTX_set_cipher_list(client.ctx, "DEFAULT@SECLEVEL=0");
        tls_client c(app, server, client.ctx);
        CHECK_FALSE(c.handshake());
        CHECK(c.server_session().current_state() == tls::session::state::failed);
        CHECK(c.server_session().error().find("handshake failed") == 0);
    }
}

TEST_CASE("min_version tls1_3 refuses TLS 1.2") {
    auto cfg = server_config();
    cfg.min_version = tls::version::tls1_3;
    tls::context server(cfg);
    client_ctx client;
    client.versions(TLS1_2_VERSION, TLS1_2_VERSION);
    reporter app;
    tls_client c(app, server, client.ctx);
    CHECK_FALSE(c.handshake());
}

TEST_CASE("weak TLS 1.2 suites are not offered: static RSA, CBC, 3DES, NULL, anonymous") {
    tls::context server(server_config());
    reporter app;
    for (char const* weak : {"AES128-SHA", "ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "DES-CBC3-SHA",
                             "NULL-SHA256", "ADH-AES128-GCM-SHA256", "ECDHE-ECDSA-NULL-SHA"}) {
        CAPTURE(weak);
        client_ctx client;
        client.versions(TLS1_2_VERSION, TLS1_2_VERSION);
        if (SSL_CTX_set_cipher_list(client.ctx, (std::string(weak) + ":@SECLEVEL=0").c_str()) != 1) continue;
        tls_client c(app, server, client.ctx);
        CHECK_FALSE(c.handshake());
    }
}

TEST_CASE("key exchange: the curves every client has; finite-field groups, which cost the server dearly, are refused") {
    // TLS 1.3, where a client names the group of its key share (in TLS 1.2 the groups a client
    // lists also bound the curve of an ECDSA certificate).
    tls::context server(server_config());
    reporter app;
    for (std::string groups : {"X25519", "P-256", "P-384", "ffdhe2048", "ffdhe8192", "P-521"}) {
        CAPTURE(groups);
        client_ctx client;
        client.versions(TLS1_3_VERSION, TLS1_3_VERSION);
        REQUIRE(SSL_CTX_set1_groups_list(client.ctx, groups.c_str()) == 1);
        tls_client c(app, server, client.ctx);
        bool offered = groups == "X25519" || groups == "P-256" || groups == "P-384";
        CHECK(c.handshake() == offered);
    }
    // A list of the program's own; one that names nothing known fails the load.
    auto cfg = server_config();
    cfg.groups = "P-384";
    tls::context p384(cfg);
    client_ctx x25519;
    REQUIRE(SSL_CTX_set1_groups_list(x25519.ctx, "X25519") == 1);
    tls_client refused(app, p384, x25519.ctx);
    CHECK_FALSE(refused.handshake());
    cfg.groups = "NOSUCHGROUP";
    CHECK_THROWS_WITH_AS(tls::context{cfg}, doctest::Contains("NOSUCHGROUP"), tls::error);
}

TEST_CASE("ALPN: http/1.1 is chosen; a client offering only h2 is refused") {
    tls::context server(server_config());
    reporter app;
    {
        client_ctx client;
        client.alpn(std::string("\x02h2\x08http/1.1", 12));
        tls_client c(app, server, client.ctx);
        REQUIRE(c.handshake());
        CHECK(c.server_session().alpn() == "http/1.1");
    }
    {
        client_ctx client;
        client.alpn(std::string("\x02h2", 3));
        tls_client c(app, server, client.ctx);
        CHECK_FALSE(c.handshake());
        CHECK(c.server_session().error().find("no application protocol") != std::string_view::npos);
    }
    {
        client_ctx client;  // no ALPN at all: HTTP/1.1 as before ALPN
        tls_client c(app, server, client.ctx);
        REQUIRE(c.handshake());
        CHECK(c.server_session().alpn().empty());
    }
}

TEST_CASE("SNI picks the certificate that names the host; others get the default") {
    auto cfg = server_config();
    cfg.sni.push_back({file("other.pem"), file("other.key")});
    tls::context server(cfg);
    reporter app;
    struct expect {
        char const* name;
        char const* cn;
    };
    for (expect e :
         {expect{"other.test", "other.test"}, expect{"a.wild.test", "other.test"}, expect{"localhost", "localhost"},
          expect{"unknown.test", "localhost"}, expect{nullptr, "localhost"}}) {
        char const* name = e.name;
        std::string cn = e.cn;
        std::string shown = name ? name : "(none)";
        CAPTURE(shown);
        client_ctx client;
        tls_client c(app, server, client.ctx, {}, name);
        REQUIRE(c.handshake());
        CHECK(peer_common_name(c.client_ssl()) == cn);
        c.send(get_request);
        CHECK(c.responses().at(0).status == 200);
    }
}

TEST_CASE("an encrypted key loads through the password callback, and not without it") {
    auto cfg = server_config();
    cfg.server.private_key_file = file("server-enc.key");
    CHECK_THROWS_AS(tls::context{cfg}, tls::error);
    cfg.password = [] { return std::string("wrong"); };
    CHECK_THROWS_AS(tls::context{cfg}, tls::error);
    cfg.password = [] { return std::string("s3cret"); };
    tls::context server(cfg);
    client_ctx client;
    reporter app;
    tls_client c(app, server, client.ctx);
    CHECK(c.handshake());
}

TEST_CASE("loading errors name the file and OpenSSL's reason") {
    auto cfg = server_config();
    cfg.server.certificate_chain_file = "/nonexistent/cert.pem";
    try {
        tls::context server(cfg);
        FAIL("loaded a missing file");
    } catch (tls::error const& e) {
        CHECK(std::string(e.what()).find("/nonexistent/cert.pem") != std::string::npos);
    }
    cfg = server_config();
    cfg.server.private_key_file = file("other.key");  // not this certificate's key
    CHECK_THROWS_WITH_AS(tls::context{cfg}, doctest::Contains("does not match"), tls::error);
    cfg = server_config();
    cfg.cipher_list = "NOSUCHCIPHER";
    CHECK_THROWS_AS(tls::context{cfg}, tls::error);
}

namespace {
// One handshake and request; returns the session the client got, for resuming.
SSL_SESSION* visit(tls::context& server, client_ctx& client, SSL_SESSION* resume, bool& resumed,
                   char const* server_name = nullptr, std::string* common_name = nullptr,
                   std::string* served_name = nullptr) {
    reporter app;
    tls_client c(app, server, client.ctx, {}, server_name);
    if (resume) SSL_set_session(c.client_ssl(), resume);
    REQUIRE(c.handshake());
    c.send(get_request);  // TLS 1.3 tickets arrive after the handshake
    REQUIRE(c.responses().size() == 1);
    resumed = c.server_session().resumed();
    CHECK(resumed == (SSL_session_reused(c.client_ssl()) == 1));
    if (common_name) *common_name = peer_common_name(c.client_ssl());
    if (served_name) *served_name = c.server_session().server_name();
    c.close();  // a client freed without close_notify marks its session not resumable
    return SSL_get1_session(c.client_ssl());
}
}  // namespace

TEST_CASE("sessions resume through tickets, across a reload, in TLS 1.3 and 1.2") {
    for (int v : {TLS1_3_VERSION, TLS1_2_VERSION}) {
        CAPTURE(v);
        tls::context server(server_config());
        client_ctx client;
        client.versions(v, v);
        bool resumed = true;
        SSL_SESSION* first = visit(server, client, nullptr, resumed);
        CHECK_FALSE(resumed);
        SSL_SESSION* second = visit(server, client, first, resumed);
        CHECK(resumed);
        server.reload();
        SSL_SESSION* third = visit(server, client, second, resumed);
        CHECK(resumed);
        for (auto* s : {first, second, third}) SSL_SESSION_free(s);
    }
}

TEST_CASE("a session resumes only where the certificate that made it serves the name asked for") {
    auto cfg = server_config();
    cfg.sni.push_back({file("other.pem"), file("other.key")});
    for (int v : {TLS1_3_VERSION, TLS1_2_VERSION}) {
        CAPTURE(v);
        tls::context server(cfg);
        client_ctx client;
        client.versions(v, v);
        bool resumed = true;
        std::string cn;
        std::string served;
        SSL_SESSION* other = visit(server, client, nullptr, resumed, "other.test", &cn, &served);
        CHECK_FALSE(resumed);
        CHECK(cn == "other.test");
        CHECK(served == "other.test");
        // The server acknowledged the name (RFC 6066 section 3), so the client's session keeps it.
        char const* acknowledged = SSL_SESSION_get0_hostname(other);
        CHECK(std::string(acknowledged ? acknowledged : "") == "other.test");
        SSL_SESSION* same = visit(server, client, other, resumed, "other.test", &cn, &served);
        CHECK(resumed);
        CHECK(served == "other.test");  // in TLS 1.2, the session's name
        // Offered to another host, the session is refused: a full handshake with that host's
        // certificate, not the other's session.
        SSL_SESSION* local = visit(server, client, other, resumed, "localhost", &cn);
        CHECK_FALSE(resumed);
        CHECK(cn == "localhost");
        SSL_SESSION* none = visit(server, client, other, resumed, nullptr, &cn);
        CHECK_FALSE(resumed);
        CHECK(cn == "localhost");
        // The same certificate serves the name: the session resumes.
        SSL_SESSION* again = visit(server, client, other, resumed, "a.wild.test", &cn);
        CHECK(resumed);
        CHECK(cn == "other.test");
        SSL_SESSION* default_again = visit(server, client, local, resumed, "unknown.test", &cn);
        CHECK(resumed);
        CHECK(cn == "localhost");
        SSL_SESSION* refused = visit(server, client, local, resumed, "other.test", &cn);
        CHECK_FALSE(resumed);
        CHECK(cn == "other.test");
        for (auto* s : {other, same, local, none, again, default_again, refused}) SSL_SESSION_free(s);
    }
}

TEST_CASE("ticket keys rotate: a ticket is good for two lifetimes, then a full handshake") {
    auto cfg = server_config();
    cfg.ticket_key_lifetime = std::chrono::seconds(1);
    tls::context server(cfg);
    client_ctx client;
    bool resumed = false;
    SSL_SESSION* ticket = visit(server, client, nullptr, resumed);
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    SSL_SESSION* renewed = visit(server, client, ticket, resumed);
    CHECK(resumed);  // opened with the previous key, and renewed
    std::this_thread::sleep_for(std::chrono::milliseconds(2200));
    SSL_SESSION* late = visit(server, client, ticket, resumed);
    CHECK_FALSE(resumed);  // two rotations later, the first key is gone
    for (auto* s : {ticket, renewed, late}) SSL_SESSION_free(s);
}

TEST_CASE("tickets can be turned off") {
    auto cfg = server_config();
    cfg.session_tickets = false;
    tls::context server(cfg);
    client_ctx client;
    client.versions(TLS1_2_VERSION, TLS1_2_VERSION);
    bool resumed = true;
    SSL_SESSION* first = visit(server, client, nullptr, resumed);
    SSL_SESSION* second = visit(server, client, first, resumed);
    CHECK_FALSE(resumed);
    SSL_SESSION_free(first);
    SSL_SESSION_free(second);
}

namespace {
// How many TLS 1.3 tickets a client gets from one full handshake and one request.
int tickets_received(tls::config const& cfg) {
    static int received = 0;
    received = 0;
    tls::context server(cfg);
    client_ctx client;
    client.versions(TLS1_3_VERSION, TLS1_3_VERSION);
    SSL_CTX_set_session_cache_mode(client.ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(client.ctx, [](SSL*, SSL_SESSION*) {
        ++received;
        return 0;  // not kept
    });
    reporter app;
    tls_client c(app, server, client.ctx);
    REQUIRE(c.handshake());
    c.send(get_request);
    REQUIRE(c.responses().size() == 1);
    return received;
}
}  // namespace

TEST_CASE("TLS 1.3 sends tickets_per_handshake tickets after a full handshake, none with tickets off") {
    auto cfg = server_config();
    CHECK(tickets_received(cfg) == 1);  // the default
    cfg.tickets_per_handshake = 3;
    CHECK(tickets_received(cfg) == 3);
    cfg.tickets_per_handshake = 0;
    CHECK(tickets_received(cfg) == 0);
    cfg.tickets_per_handshake = 2;
    cfg.session_tickets = false;
    CHECK(tickets_received(cfg) == 0);
}

TEST_CASE("reload: new sessions get the new certificate, a session already open goes on, old tickets do not resume") {
    tls_test::files mine;  // files this test may overwrite
    auto copy = [&](char const* from, char const* to) {
        std::filesystem::copy_file(file(from), mine.path(to), std::filesystem::copy_options::overwrite_existing);
    };
    copy("server.pem", "live.pem");
    copy("server.key", "live.key");
    tls::config cfg;
    cfg.server = {mine.path("live.pem"), mine.path("live.key")};
    tls::context server(cfg);
    reporter app;
    client_ctx client;
    tls_client before(app, server, client.ctx);
    REQUIRE(before.handshake());
    CHECK(peer_common_name(before.client_ssl()) == "localhost");
    bool resumed = true;
    SSL_SESSION* ticket = visit(server, client, nullptr, resumed);

    copy("other.pem", "live.pem");
    copy("other.key", "live.key");
    server.reload();
    CHECK(server.reloads() == 1);
    // A session of the certificate replaced does not resume: a full handshake with the new one.
    std::string cn;
    SSL_SESSION_free(visit(server, client, ticket, resumed, nullptr, &cn));
    SSL_SESSION_free(ticket);
    CHECK_FALSE(resumed);
    CHECK(cn == "other.test");
    tls_client after(app, server, client.ctx);
    REQUIRE(after.handshake());
    CHECK(peer_common_name(after.client_ssl()) == "other.test");
    before.send(get_request);
    CHECK(before.responses().at(0).body == "secure /hello []");

    std::filesystem::remove(mine.path("live.key"));  // a failed reload keeps what was served
    CHECK_THROWS_AS(server.reload(), tls::error);
    CHECK(server.reloads() == 1);
    tls_client still(app, server, client.ctx);
    REQUIRE(still.handshake());
    CHECK(peer_common_name(still.client_ssl()) == "other.test");
}

TEST_CASE("mutual TLS: the verified subject reaches the request; missing or foreign certificates do not pass") {
    auto cfg = server_config();
    cfg.verify_clients = tls::client_certificates::required;
    cfg.client_ca_file = file("ca.pem");
    reporter app;
    {
        tls::context server(cfg);
        client_ctx client;
        client.certificate("client.pem", "client.key");
        tls_client c(app, server, client.ctx);
        REQUIRE(c.handshake());
        c.send(get_request);
        CHECK(c.responses().at(0).body == "secure /hello [CN=alice,O=porthole tests]");
    }
    for (bool with_stranger : {false, true}) {
        tls::context server(cfg);
        client_ctx client;
        if (with_stranger) client.certificate("stranger.pem", "stranger.key");
        tls_client c(app, server, client.ctx);
        c.handshake();
        c.send(get_request);  // TLS 1.3: the client learns of the refusal after its Finished
        CHECK(c.responses().empty());
        CHECK(c.server_session().current_state() == tls::session::state::failed);
    }
    cfg.verify_clients = tls::client_certificates::optional;
    tls::context server(cfg);
    client_ctx client;
    tls_client c(app, server, client.ctx);
    REQUIRE(c.handshake());
    c.send(get_request);
    CHECK(c.responses().at(0).body == "secure /hello []");
    cfg.client_ca_file.clear();
    CHECK_THROWS_AS(tls::context{cfg}, tls::error);
}

TEST_CASE("mutual TLS: a session resumes only while the CA that verified its client is trusted") {
    for (int v : {TLS1_3_VERSION, TLS1_2_VERSION}) {
        CAPTURE(v);
        tls_test::files mine;  // a CA file this test may overwrite
        auto trust = [&](char const* from) {
            std::filesystem::copy_file(file(from), mine.path("clients.pem"),
                                       std::filesystem::copy_options::overwrite_existing);
        };
        trust("ca.pem");
        auto cfg = server_config();
        cfg.verify_clients = tls::client_certificates::required;
        cfg.client_ca_file = mine.path("clients.pem");
        tls::context server(cfg);
        client_ctx client;
        client.versions(v, v).certificate("client.pem", "client.key");
        bool resumed = true;
        SSL_SESSION* first = visit(server, client, nullptr, resumed);
        SSL_SESSION* second = visit(server, client, first, resumed);
        CHECK(resumed);
        server.reload();  // the same CA: sessions still resume
        SSL_SESSION* third = visit(server, client, second, resumed);
        CHECK(resumed);

        trust("stranger.pem");  // alice's CA is no longer trusted
        server.reload();
        reporter app;
        tls_client c(app, server, client.ctx);
        SSL_set_session(c.client_ssl(), third);
        c.handshake();
        c.send(get_request);
        CHECK(c.responses().empty());
        CHECK_FALSE(c.server_session().resumed());
        CHECK(c.server_session().current_state() == tls::session::state::failed);
        for (auto* s : {first, second, third}) SSL_SESSION_free(s);
    }
}

TEST_CASE("plain HTTP on the TLS port gets a plain-text 400") {
    tls::context server(server_config());
    // An upper- or lower-case method (the latter is 501 over plain HTTP), or the empty line a
    // client may send first (RFC 9112 2.2): none of them starts a TLS record (0x14 to 0x18).
    for (std::string req : {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "get / HTTP/1.1\r\nHost: x\r\n\r\n",
                            "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", "\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"}) {
        INFO(req);
        tls::session s(server.current());
        char buf[1024];
        bool fed = false;
        s.feed(std::span<char const>(req.data(), req.size()), std::span<char>(buf, sizeof buf), [&](std::span<char>) {
            fed = true;
            return true;
        });
        CHECK_FALSE(fed);
        CHECK(s.plain_http());
        CHECK(s.current_state() == tls::session::state::failed);
        auto rs = porthole::testing::parse_responses(s.output());
        REQUIRE(rs.size() == 1);
        CHECK(rs[0].status == 400);
        CHECK(rs[0].header("Connection") == "close");
        CHECK(rs[0].body.find("https://") != std::string::npos);
    }
}

TEST_CASE("garbage fails the session with an alert and OpenSSL's reason") {
    tls::context server(server_config());
    tls::session s(server.current());
    char buf[1024];
    // A handshake record holding a ClientHello cut short inside it.
    std::string junk("\x16\x03\x01\x00\x08\x01\x00\x00\x04\x03\x03\x00\x00", 13);
    s.feed(std::span<char const>(junk.data(), junk.size()), std::span<char>(buf, sizeof buf),
           [](std::span<char>) { return true; });
    CHECK(s.current_state() == tls::session::state::failed);
    CHECK_FALSE(s.error().empty());
    CHECK_FALSE(s.output().empty());  // the alert
}

TEST_CASE("close_notify from the client ends the input; a large response crosses in records") {
    tls::context server(server_config());
    client_ctx client;
    reporter app;
    tls_client c(app, server, client.ctx);
    REQUIRE(c.handshake());
    c.send("GET /big HTTP/1.1\r\nHost: localhost\r\n\r\n");
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].complete);
    CHECK(rs[0].body.size() == (1u << 20));
    c.close();
    CHECK(c.server_session().current_state() == tls::session::state::closed);
    CHECK(c.conn().should_close());
}

TEST_CASE("close_notify read with the requests before it: they are answered, and the session still writes") {
    tls::context server(server_config());
    reporter app;
    for (int v : {TLS1_3_VERSION, TLS1_2_VERSION}) {
        CAPTURE(v);
        client_ctx client;
        client.versions(v, v);
        tls_client c(app, server, client.ctx);
        REQUIRE(c.handshake());
        // Written by the client before anything moves: the server reads both requests and the
        // close_notify in one feed.
        std::string const two = get_request + "GET /second HTTP/1.1\r\nHost: localhost\r\n\r\n";
        std::size_t n = 0;
        REQUIRE(SSL_write_ex(c.client_ssl(), two.data(), two.size(), &n) == 1);
        c.close();
        CHECK(c.server_session().current_state() == tls::session::state::closed);
        CHECK(c.server_session().established());
        auto rs = c.responses();
        REQUIRE(rs.size() == 2);
        CHECK(rs[0].body == "secure /hello []");
        CHECK(rs[1].body == "secure /second []");
        CHECK(c.conn().should_close());
        // This end's close_notify still goes out, once.
        c.server_session().close();
        CHECK_FALSE(c.server_session().output().empty());
    }
}

TEST_CASE("the exchange gives the same answer however the client's bytes are split") {
    tls::context server(server_config());
    reporter app;
    std::string const requests = get_request + "GET /second HTTP/1.1\r\nHost: localhost\r\n\r\n";
    auto run = [&](std::size_t cut, std::size_t piece, int version) {
        client_ctx client;
        client.versions(version, version);
        tls_client c(app, server, client.ctx);
        c.cut = cut;
        c.piece = piece;
        if (!c.handshake()) return std::pair<std::size_t, std::string>{0, "handshake failed"};
        c.send(requests);
        auto rs = c.responses();
        std::string bodies;
        for (auto const& r : rs) bodies += std::to_string(r.status) + " " + r.body + ";";
        return std::pair<std::size_t, std::string>{c.sent_to_server().size(), bodies};
    };
    std::string const expected = "200 secure /hello [];200 secure /second [];";
    for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
        auto [length, whole] = run(0, 0, version);
        REQUIRE(whole == expected);
        REQUIRE(length > 300);
        CHECK(run(0, 1, version).second == expected);  // one byte at a time
        int wrong = 0;
        for (std::size_t cut = 1; cut < length; ++cut) {
            auto got = run(cut, 0, version).second;
            if (got != expected && ++wrong < 5) CHECK_MESSAGE(got == expected, "cut at " << cut);
        }
        CHECK(wrong == 0);
    }
}

// As the other options structs (test_websocket.cpp): one member named in a designated
// initializer draws no -Wmissing-field-initializers, and this suite builds with -Werror.
TEST_CASE("tls::config and tls::identity take one designated member without a -Wextra warning") {
    tls::config c{.min_version = tls::version::tls1_3};
    tls::identity id{.private_key_file = "key.pem"};
    CHECK(c.min_version == tls::version::tls1_3);
    CHECK((c.server.certificate_chain_file.empty() && c.sni.empty() && !c.password && c.ciphersuites.empty()));
    CHECK(c.cipher_list == tls::default_cipher_list);
    CHECK((id.private_key_file == "key.pem" && id.certificate_chain_file.empty()));
}

TEST_CASE("the in-memory client stops where a file ended before its length, as testing::client does") {
    // The file was cut to 10 of its 100 bytes after its response was made: the short read was
    // counted as written whole, and the next response went out as the rest of this one's body.
    auto path = (std::filesystem::temp_directory_path() /
                 ("porthole_test_tls_cut_" + std::to_string(std::random_device{}()) + ".txt"))
                    .string();
    std::ofstream(path, std::ios::binary) << std::string(100, 'A');
    auto app = [&](request const& req) -> response {
        if (req.path() != "/file") return response::text("small");
        auto res = response::file(path, "text/plain");
        std::filesystem::resize_file(path, 10);
        return std::move(*res);
    };
    tls::context server(server_config());
    client_ctx client;
    tls_client c(app, server, client.ctx);
    REQUIRE(c.handshake());
    c.send("GET /file HTTP/1.1\r\nHost: t\r\n\r\nGET /small HTTP/1.1\r\nHost: t\r\n\r\n");
    auto const& rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK_FALSE(rs[0].complete);
    CHECK(rs[0].body == std::string(10, 'A'));
    std::filesystem::remove(path);
}

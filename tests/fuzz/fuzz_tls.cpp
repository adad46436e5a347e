// The server side of TLS (porthole::tls::session) fed arbitrary bytes in fuzzer-chosen pieces,
// with a connection behind it as in the server: what decrypts goes to the connection, what the
// connection answers is encrypted, and encrypted output is taken in fuzzer-chosen amounts.
// Certificates are made once, at start-up, with the OpenSSL API.
//
// Checked: a session never goes back from failed or closed; nothing reaches the connection
// before the handshake is done; a plain HTTP request gets exactly the plain-text 400; a failed
// session takes no more input and encrypts nothing; output only shrinks by what was taken.
//
// Input layout: a control byte, a piece byte, then the bytes to feed.
//   control bit 0: client certificates required (mutual TLS); bit 1: minimum TLS 1.3;
//           bit 2: a second identity for SNI; bits 3-7: how much output to take per step (0: all)
//   piece: bytes per feed (0: all at once)
#include "../tls_test_certs.hpp"

#include <porthole/tls.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

namespace {

using namespace porthole;

struct echo_app {
    response operator()(request const& r) const {
        return response::text(std::string(r.path()) + " " + std::string(r.client_subject()));
    }
};

#define FUZZ_CHECK(cond)                                                           \
    do {                                                                           \
        if (!(cond)) {                                                             \
            std::fprintf(stderr, "check failed: %s (line %d)\n", #cond, __LINE__); \
            std::abort();                                                          \
        }                                                                          \
    } while (0)

tls::context& context_for(unsigned variant) {
    static tls_test::files const files;
    static std::unique_ptr<tls::context> contexts[8];
    auto& c = contexts[variant & 7];
    if (!c) {
        tls::config cfg;
        cfg.server = {files.path("server.pem"), files.path("server.key")};
        if (variant & 1) {
            cfg.verify_clients = tls::client_certificates::required;
            cfg.client_ca_file = files.path("ca.pem");
        }
        if (variant & 2) cfg.min_version = tls::version::tls1_3;
        if (variant & 4) cfg.sni.push_back({files.path("other.pem"), files.path("other.key")});
        c = std::make_unique<tls::context>(cfg);
    }
    return *c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    if (size < 2) return 0;
    unsigned control = data[0];
    std::size_t piece = data[1];
    data += 2;
    size -= 2;
    tls::session s(context_for(control & 7).current());
    echo_app app;
    connection<echo_app> conn(app);
    std::size_t take = (control >> 3) * 37;
    char plain[16 * 1024];
    bool was_failed = false, was_closed = false;
    std::size_t fed = 0;
    while (fed < size) {
        std::size_t n = piece == 0 ? size - fed : std::min(piece, size - fed);
        std::size_t out_before = s.output().size();
        bool was_established = s.established();
        s.feed(std::span<char const>(reinterpret_cast<char const*>(data + fed), n),
               std::span<char>(plain, sizeof plain), [&](std::span<char> bytes) {
                   FUZZ_CHECK(s.established());
                   conn.feed(bytes);
                   return conn.wants_read();
               });
        if (fed == 0 && tls::detail::starts_plain_http(data[0])) {
            FUZZ_CHECK(s.plain_http());
            FUZZ_CHECK(s.output() == tls::detail::plain_http_reply);
        }
        if (was_failed || was_closed) FUZZ_CHECK(s.output().size() == out_before);
        if (was_established) FUZZ_CHECK(s.current_state() != tls::session::state::handshake);
        while (s.has_buffered_input() && conn.wants_read())
            s.resume(std::span<char>(plain, sizeof plain), [&](std::span<char> bytes) {
                conn.feed(bytes);
                return conn.wants_read();
            });
        for (auto out = conn.pending_output(); !out.empty() && s.established(); out = conn.pending_output()) {
            std::size_t total = 0;
            for (auto const& c : out) {
                FUZZ_CHECK(s.write(c.memory) == c.memory.size());
                total += c.memory.size();
            }
            conn.written(total);
        }
        std::size_t pending = s.output().size();
        std::size_t sent = take == 0 ? pending : std::min(take, pending);
        s.sent(sent);
        FUZZ_CHECK(s.output().size() == pending - sent);
        was_failed = s.current_state() == tls::session::state::failed;
        was_closed = s.current_state() == tls::session::state::closed;
        if (was_failed) FUZZ_CHECK(s.write("late") == 0);
        fed += n;
    }
    s.close();
    return 0;
}

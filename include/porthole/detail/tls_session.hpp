// porthole/detail/tls_session.hpp: one server-side TLS connection as a state machine, bytes in
// and bytes out: encrypted bytes from the peer go in, plaintext comes out to a sink; plaintext
// to send goes in, encrypted bytes come out. No sockets: OpenSSL reads and writes through a BIO
// of this file that works on the caller's bytes in place. Included by <porthole/tls.hpp>.
#pragma once

#include <porthole/detail/tls_context.hpp>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace porthole::tls {

namespace detail {

// A BIO whose reads take from the session's input (what it kept, then the bytes being fed) and
// whose writes append to the session's output. It never blocks and never copies input twice.
struct bio_io {
    std::string kept;  // input OpenSSL has not read yet, from earlier calls
    std::size_t kept_used = 0;
    char const* fed = nullptr;  // input of the call under way, read in place
    std::size_t fed_size = 0;
    std::string out;  // encrypted output not yet taken
    std::size_t out_sent = 0;

    std::size_t available() const noexcept { return kept.size() - kept_used + fed_size; }

    int read(char* to, int len) noexcept {
        std::size_t want = static_cast<std::size_t>(len), got = 0;
        if (kept_used < kept.size()) {
            got = std::min(want, kept.size() - kept_used);
            std::memcpy(to, kept.data() + kept_used, got);
            kept_used += got;
            if (kept_used == kept.size()) {
                kept.clear();
                kept_used = 0;
            }
        }
        if (got < want && fed_size > 0) {
            std::size_t n = std::min(want - got, fed_size);
            std::memcpy(to + got, fed, n);
            fed += n;
            fed_size -= n;
            got += n;
        }
        return static_cast<int>(got);
    }

    // After a call: what OpenSSL did not read of the fed bytes is kept for the next one.
    void keep_rest() {
        if (fed_size > 0) {
            if (kept_used > 0) {
                kept.erase(0, kept_used);
                kept_used = 0;
            }
            kept.append(fed, fed_size);
        }
        fed = nullptr;
        fed_size = 0;
        if (kept.empty() && kept.capacity() > 4096) std::string().swap(kept);
    }
};

extern "C" inline int porthole_bio_write(BIO* b, char const* data, int len) {
    BIO_clear_retry_flags(b);
    auto* io = static_cast<bio_io*>(BIO_get_data(b));
    try {
        io->out.append(data, static_cast<std::size_t>(len));
    } catch (...) {
        return -1;
    }
    return len;
}

extern "C" inline int porthole_bio_read(BIO* b, char* data, int len) {
    BIO_clear_retry_flags(b);
    auto* io = static_cast<bio_io*>(BIO_get_data(b));
    int n = io->read(data, len);
    if (n == 0) {
        BIO_set_retry_read(b);
        return -1;
    }
    return n;
}

extern "C" inline long porthole_bio_ctrl(BIO* b, int cmd, long, void*) {
    auto* io = static_cast<bio_io*>(BIO_get_data(b));
    switch (cmd) {
        case BIO_CTRL_FLUSH: return 1;
        case BIO_CTRL_PENDING: return static_cast<long>(io->available());
        case BIO_CTRL_WPENDING: return static_cast<long>(io->out.size() - io->out_sent);
        default: return 0;
    }
}

inline BIO_METHOD const* bio_method() {
    static BIO_METHOD* const method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "porthole");
        if (m) {
            BIO_meth_set_write(m, porthole_bio_write);
            BIO_meth_set_read(m, porthole_bio_read);
            BIO_meth_set_ctrl(m, porthole_bio_ctrl);
        }
        return m;
    }();
    return method;
}

// The one reply for plain HTTP on a TLS port (RFC 9110 section 15.5.1).
inline constexpr std::string_view plain_http_reply =
    "HTTP/1.1 400 Bad Request\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 50\r\n"
    "Connection: close\r\n"
    "\r\n"
    "This port speaks HTTPS: use https:// to reach it.\n";
static_assert(plain_http_reply.size() - plain_http_reply.find("\r\n\r\n") - 4 == 50);

// Whether a connection's first byte begins plain HTTP rather than TLS, whose records begin with
// 0x14 to 0x18 (a handshake, 0x16, first): a letter of a method, or the CR or LF of the empty
// line a client may send before its request line (RFC 9112 2.2).
constexpr bool starts_plain_http(unsigned char first) noexcept {
    unsigned lower = first | 0x20u;
    return (lower >= 'a' && lower <= 'z') || first == '\r' || first == '\n';
}

}  // namespace detail

// The server side of one TLS connection.
//
//   feed(encrypted, buffer, sink)  bytes from the peer; the handshake advances, and plaintext
//                                  is decrypted into `buffer` and handed to sink(span<char>),
//                                  which returns whether it takes more now
//   resume(buffer, sink)           goes on with input kept back when the sink said no
//   write(plain)                   encrypts; the records join output()
//   output(), sent(n)              encrypted bytes to send, and how many were sent
//   close()                        queues close_notify (RFC 8446 section 6.1)
//
// After a failed handshake, output() may hold an alert to send before closing. A peer that
// sends plain HTTP gets detail::plain_http_reply, unencrypted, as output, and the state failed.
class session {
public:
    enum class state : std::uint8_t {
        handshake,  // under way
        open,       // application data flows
        closed,     // the peer sent close_notify: the end of its input; output still goes (RFC 8446 6.1)
        failed,     // a handshake or record error: send output(), then close the socket
    };

    explicit session(std::shared_ptr<detail::generation const> g) : generation_(std::move(g)) {
        ERR_clear_error();
        ssl_ = SSL_new(generation_->default_context());
        BIO* bio = ssl_ ? BIO_new(detail::bio_method()) : nullptr;
        if (!bio) {
            SSL_free(ssl_);
            ssl_ = nullptr;
            detail::fail("TLS: cannot create a session");
        }
        BIO_set_data(bio, &io_);
        BIO_set_init(bio, 1);
        SSL_set_bio(ssl_, bio, bio);
        SSL_set_accept_state(ssl_);
    }
    session(session const&) = delete;
    session& operator=(session const&) = delete;
    ~session() { SSL_free(ssl_); }

    // ---- input

    template <class Sink>
    void feed(std::span<char const> encrypted, std::span<char> buffer, Sink&& sink) {
        if (state_ == state::failed || state_ == state::closed || encrypted.empty()) return;
        if (!seen_input_) {
            seen_input_ = true;
            if (detail::starts_plain_http(static_cast<unsigned char>(encrypted[0]))) {  // the wrong port
                plain_http_ = true;
                fail_with("plain HTTP request on the TLS port");
                io_.out.assign(detail::plain_http_reply);
                io_.out_sent = 0;
                return;
            }
        }
        io_.fed = encrypted.data();
        io_.fed_size = encrypted.size();
        pump(buffer, sink);
    }

    template <class Sink>
    void resume(std::span<char> buffer, Sink&& sink) {
        if (state_ == state::failed || state_ == state::closed) return;
        pump(buffer, sink);
    }

    // Input is waiting that a sink declined: call resume() once it takes more.
    bool has_buffered_input() const noexcept {
        return (state_ == state::open || state_ == state::handshake) &&
               (io_.kept_used < io_.kept.size() || SSL_pending(ssl_) > 0);
    }

    // ---- output

    // Encrypts plaintext into records; returns how much was taken (all of it, unless the
    // session is not established).
    std::size_t write(std::string_view plain) {
        if (!established() || plain.empty()) return 0;
        ERR_clear_error();
        std::size_t done = 0;
        while (done < plain.size()) {
            std::size_t n = 0;
            int chunk = static_cast<int>(std::min<std::size_t>(plain.size() - done, 1 << 30));
            if (SSL_write_ex(ssl_, plain.data() + done, static_cast<std::size_t>(chunk), &n) != 1) {
                fail_with(detail::take_openssl_errors());
                break;
            }
            done += n;
        }
        return done;
    }

    std::string_view output() const noexcept { return std::string_view(io_.out).substr(io_.out_sent); }
    void sent(std::size_t n) noexcept {
        io_.out_sent += n;
        if (io_.out_sent >= io_.out.size()) {
            io_.out.clear();
            io_.out_sent = 0;
            if (io_.out.capacity() > 64 * 1024) std::string().swap(io_.out);
        }
    }

    // This end's close_notify, once; after the peer's too, which it answers (RFC 8446 6.1).
    void close() {
        if (!established() || close_sent_) return;
        close_sent_ = true;
        ERR_clear_error();
        (void)SSL_shutdown(ssl_);
        ERR_clear_error();
    }

    // Gives back memory an idle connection does not need.
    void shrink() noexcept {
        if (io_.kept.empty()) std::string().swap(io_.kept);
        if (io_.out_sent == 0 && io_.out.empty()) std::string().swap(io_.out);
    }

    // ---- what was agreed

    state current_state() const noexcept { return state_; }
    // The handshake is done and nothing failed: output is encrypted, after the peer's
    // close_notify too (it closes the peer's direction only; the answers queued still go).
    bool established() const noexcept { return state_ == state::open || state_ == state::closed; }
    bool plain_http() const noexcept { return plain_http_; }
    bool input_seen() const noexcept { return seen_input_; }
    // Why the session failed: OpenSSL's reasons, never data.
    std::string_view error() const noexcept { return error_; }
    bool resumed() const noexcept { return SSL_session_reused(ssl_) == 1; }
    std::string_view protocol() const noexcept { return SSL_get_version(ssl_); }  // "TLSv1.3"
    std::string_view cipher() const noexcept { return SSL_get_cipher_name(ssl_); }
    std::string_view server_name() const noexcept {
        char const* n = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
        return n ? n : "";
    }
    std::string_view alpn() const noexcept {
        unsigned char const* p = nullptr;
        unsigned int n = 0;
        SSL_get0_alpn_selected(ssl_, &p, &n);
        return std::string_view(reinterpret_cast<char const*>(p), p ? n : 0);
    }
    // The subject of the client certificate, verified against the client CA, as an RFC 2253
    // string ("CN=alice,O=Example"); empty when none was sent or verification is off.
    std::string_view client_subject() const noexcept { return subject_; }
    SSL* native_handle() const noexcept { return ssl_; }

private:
    template <class Sink>
    void pump(std::span<char> buffer, Sink& sink) {
        ERR_clear_error();
        for (;;) {
            std::size_t n = 0;
            int r = SSL_read_ex(ssl_, buffer.data(), buffer.size(), &n);
            if (state_ == state::handshake && SSL_is_init_finished(ssl_)) {
                state_ = state::open;
                if (generation_->verify_clients) subject_ = verified_subject();
            }
            if (r == 1) {
                if (!sink(std::span<char>(buffer.data(), n))) break;
                continue;
            }
            int e = SSL_get_error(ssl_, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) break;
            if (e == SSL_ERROR_ZERO_RETURN) {
                state_ = state::closed;
            } else {
                fail_with(state_ == state::handshake ? "handshake failed: " + detail::take_openssl_errors()
                                                     : detail::take_openssl_errors());
            }
            break;
        }
        io_.keep_rest();
        ERR_clear_error();
    }

    std::string verified_subject() const {
        X509* cert = SSL_get0_peer_certificate(ssl_);
        if (!cert || SSL_get_verify_result(ssl_) != X509_V_OK) return {};
        BIO* mem = BIO_new(BIO_s_mem());
        if (!mem) return {};
        std::string out;
        if (X509_NAME_print_ex(mem, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
            char* data = nullptr;
            long n = BIO_get_mem_data(mem, &data);
            if (n > 0) out.assign(data, static_cast<std::size_t>(n));
        }
        BIO_free(mem);
        return out;
    }

    void fail_with(std::string why) {
        state_ = state::failed;
        error_ = std::move(why);
    }

    std::shared_ptr<detail::generation const> generation_;
    SSL* ssl_ = nullptr;
    detail::bio_io io_;
    std::string error_;
    std::string subject_;
    state state_ = state::handshake;
    bool seen_input_ = false;
    bool plain_http_ = false;
    bool close_sent_ = false;
};

}  // namespace porthole::tls

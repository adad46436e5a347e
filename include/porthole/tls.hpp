// porthole/tls.hpp: HTTPS. TLS through OpenSSL 3, as a layer between the sockets and the
// connections: the parser, the connection and the application see the same bytes as over
// plain TCP. A separate header: only a program that includes it needs OpenSSL (link
// -lssl -lcrypto; meson, pkg-config and CMake: porthole-tls / porthole::tls).
//
//   tls::config, tls::context   what to serve: certificates and keys (SNI), versions, ciphers,
//                               tickets, client certificates; reload() re-reads the files
//   tls::session                one connection's TLS, bytes in and bytes out, no sockets
//   https_server                porthole::server over TLS
//   serve()                     with options.tls_cert_file: HTTPS, reloaded on SIGHUP
//   testing::tls_client         an OpenSSL client talking to an application in memory
//
// See docs/tls.md.
#pragma once

#include <porthole/detail/cxx20.hpp>

#if defined(_WIN32)
#error "porthole: HTTPS (tls.hpp) is not built for Windows yet; the plain server is (docs/server.md#windows)"
#include <porthole_tls_stops_here_on_windows>  // a missing header ends compilation at once
#endif

#if defined(PORTHOLE_IMPLEMENTATION) && !defined(PORTHOLE_WITH_TLS)
#error \
    "porthole: the file defining PORTHOLE_IMPLEMENTATION takes HTTPS with PORTHOLE_WITH_TLS defined (porthole-tls defines it) and includes porthole.hpp, so that the serve() compiled there has HTTPS"
#endif

#include <porthole/detail/signal_pipe.hpp>
#include <porthole/detail/tls_context.hpp>
#include <porthole/detail/tls_session.hpp>
#include <porthole/serve.hpp>
#include <porthole/server.hpp>
#include <porthole/testing.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace porthole {

namespace detail {

// The event loop's transport for HTTPS: each socket has a tls::session between it and its
// connection. Reads take encrypted bytes into the loop's input buffer and decrypt them into
// its scratch buffer, a record at a time, straight into the connection. Writes encrypt the
// connection's output, files included (read in pieces: no sendfile under TLS), keeping at most
// encrypt_ahead bytes of records waiting for the socket.
struct tls_transport {
    static constexpr bool encrypted = true;
    using connection_state = std::unique_ptr<tls::session>;

    static constexpr std::size_t plain_piece = 16 * 1024;  // one record's worth
    static constexpr std::size_t encrypt_ahead = 64 * 1024;
    // flush() stops encrypting at encrypt_ahead, after a write of up to as much again: records
    // beyond this are OpenSSL's own answers (a KeyUpdate asked for, a renegotiation's alert)
    // to a peer that reads nothing, and the loop reads no more from it until they leave.
    static constexpr std::size_t max_waiting_records = 2 * encrypt_ahead + 2 * plain_piece;

    // A peer can fail a handshake per TCP connection: at most this many lines a second per
    // server; the next line written says how many were left out.
    static constexpr int failure_lines_per_second = 10;

    tls_transport(std::shared_ptr<tls::context> c)  // NOLINT: implicit on purpose
        : context(std::move(c)), failure_lines(std::make_unique<line_budget>()) {}

    std::shared_ptr<tls::context> context;

    struct line_budget {                                 // shared by the loops
        std::atomic<std::uint64_t> second_and_count{0};  // steady seconds << 8 | lines written in it
        std::atomic<std::uint64_t> left_out{0};
    };
    std::unique_ptr<line_budget> failure_lines;

    // True if a line may be written now; `left_out` is then how many were not, since the last.
    bool admit_failure_line(std::uint64_t& left_out) const noexcept {
        static_assert(failure_lines_per_second < 256);
        line_budget& b = *failure_lines;
        auto now = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch())
                .count());
        std::uint64_t seen = b.second_and_count.load(std::memory_order_relaxed);
        for (;;) {  // one word, so a new second and its count move together
            std::uint64_t next;
            if (now > seen >> 8) next = now << 8 | 1;
            else if ((seen & 0xff) < failure_lines_per_second) next = seen + 1;
            else {
                b.left_out.fetch_add(1, std::memory_order_relaxed);
                return false;
            }
            if (b.second_and_count.compare_exchange_weak(seen, next, std::memory_order_relaxed)) break;
        }
        left_out = b.left_out.exchange(0, std::memory_order_relaxed);
        return true;
    }

    bool open(connection_state& t) const noexcept {
        try {
            t = std::make_unique<tls::session>(context->current());
            return true;
        } catch (...) {
            return false;
        }
    }

    template <class Conn>
    void describe(connection_state const& t, Conn& c) const noexcept {
        c.set_security(t->client_subject());
    }

    bool has_output(connection_state const& t) const noexcept { return t && !t->output().empty(); }
    // Encrypted bytes the socket has not taken yet.
    std::size_t unsent(connection_state const& t) const noexcept { return t ? t->output().size() : 0; }
    bool finished(connection_state const& t) const noexcept {
        return t && t->current_state() == tls::session::state::failed;
    }

    // The socket closes: close_notify if the session is established (best effort, once), and the one
    // log line of a connection whose TLS went wrong (within failure_lines_per_second).
    template <class Peer, class Log>
    void close(connection_state& t, int fd, Peer const& peer, Log const& log) const noexcept {
        if (!t) return;
        try {
            std::string_view why;
            if (t->current_state() == tls::session::state::failed) why = t->error();
            else if (t->current_state() == tls::session::state::handshake && t->input_seen())
                why = "closed during the handshake";
            std::uint64_t left_out = 0;
            if (!why.empty() && admit_failure_line(left_out)) {
                char name[64];
                std::size_t n = peer.format(name);
                std::string line = "TLS: ";
                line.append(name, n);
                line += ": ";
                line += why;
                if (left_out != 0) line += " (and " + std::to_string(left_out) + " more TLS failures not logged)";
                if (log) log(line);
                else default_error_log(line);
            }
            if (t->established()) {
                t->close();
                std::string_view out = t->output();
                if (!out.empty()) (void)::send(fd, out.data(), out.size(), send_flags | MSG_DONTWAIT);
            }
        } catch (...) {}
        t.reset();
    }

    template <class Loop, class Slot>
    void drive(Loop& loop, Slot& s) const noexcept {
        bool progressed = false;
        std::size_t served_before = Loop::served(s);
        try {
            tls::session& t = *s.tls;
            std::span<char> plain(loop.scratch_.get(), plain_piece);
            auto sink = [&](std::span<char> bytes) {
                progressed = true;
                loop.feed(s, bytes);
                return s.conn->wants_read();
            };
            int writes = Loop::writes_per_wakeup;  // for this wake-up, between the reads too
            for (int budget = Loop::reads_per_wakeup;;) {
                if (!flush(loop, s, progressed, writes)) return;
                if (s.end_untold && s.conn->pending_output().empty()) {
                    s.end_untold = false;
                    s.conn->read_eof();
                    continue;  // on to close_notify
                }
                if (t.current_state() == tls::session::state::failed) break;
                bool buffered = t.has_buffered_input();
                if (!s.readable && !buffered) break;
                if (s.conn && !s.conn->wants_read()) {
                    if (Loop::gone_while_paused(s)) [[unlikely]] {
                        loop.close(s);
                        return;
                    }
                    break;
                }
                if (t.output().size() >= max_waiting_records) break;
                if (budget-- == 0) {
                    loop.defer(s);
                    break;
                }
                ssize_t n = 0;
                if (buffered) {  // records a full connection declined earlier
                    t.resume(plain, sink);
                    if (t.current_state() != tls::session::state::closed) continue;
                    // close_notify among them: the end of input, though the socket has nothing new
                } else {
                    n = ::recv(s.fd, loop.input_.data(), loop.input_.size(), 0);
                    if (n > 0) {
                        if (static_cast<std::size_t>(n) < loop.input_.size() && !s.hangup) s.readable = false;
                        t.feed(std::span<char const>(loop.input_.data(), static_cast<std::size_t>(n)), plain, sink);
                        if (t.current_state() != tls::session::state::closed) continue;
                        // close_notify: the end of input, like a FIN
                    }
                }
                if (n >= 0) {
                    // What the last records' messages answered goes out before the end of input
                    // is told (a WebSocket message then close_notify: its echo, as over TCP).
                    if (s.conn && !flush(loop, s, progressed, writes)) return;
                    s.readable = false;
                    s.eof = true;
                    if (!s.conn) {
                        loop.close(s);
                        return;
                    }
                    // An upgrade (WebSocket) drops what it has queued when its input ends. Over
                    // TCP it reads no more while output waits, so the FIN comes after; here the
                    // close_notify came with the last records: it is told once the output is out.
                    if (s.conn->upgraded() && !s.conn->pending_output().empty()) {
                        s.end_untold = true;
                        break;
                    }
                    s.conn->read_eof();
                } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    s.readable = false;
                } else if (errno != EINTR) {
                    loop.close(s);
                    return;
                }
            }
            loop.settle(s, progressed, served_before);
        } catch (...) {
            loop.close(s);
        }
    }

    // Encrypts what the connection has to send and writes the records until both are done or
    // the socket is full; false if s was closed.
    template <class Loop, class Slot>
    bool flush(Loop& loop, Slot& s, bool& progressed, int& budget) const {
        tls::session& t = *s.tls;
        for (;;) {
            if (s.conn && t.established() && t.output().size() < encrypt_ahead) {
                // Spent, with more to encrypt: the loop's other connections' turn, once these
                // records are sent. With nothing more, on to close_notify below.
                if (budget == 0 && !s.conn->pending_output().empty()) {
                    if (t.output().empty() && s.writable) {
                        loop.defer(s);
                        return true;
                    }
                } else {
                    int r = encrypt(loop, s, t);
                    if (r < 0) {
                        loop.close(s);
                        return false;
                    }
                    if (r > 0) {
                        if (budget > 0) --budget;
                        continue;
                    }
                    // The last records of a connection that closes: close_notify goes in the same
                    // send, not in one of its own from close().
                    if (s.conn->phase() == Loop::connection_phase_type::closed) t.close();
                }
            }
            std::string_view out = t.output();
            if (out.empty() || !s.writable) return true;
            ssize_t n = ::send(s.fd, out.data(), out.size(), send_flags);
            if (n > 0) {
                progressed = true;
                t.sent(static_cast<std::size_t>(n));
            } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return loop.socket_full(s);
            } else if (errno != EINTR) {
                loop.close(s);
                return false;
            }
        }
    }

    // One piece of the connection's output into records: small chunks gathered into one record
    // (the head and body of a short response travel together), large memory encrypted in place,
    // a file read a record's worth at a time. 1: something was encrypted, 0: nothing to do,
    // -1: the response cannot be completed (a file ended early or failed).
    template <class Loop, class Slot>
    static int encrypt(Loop& loop, Slot& s, tls::session& t) {
        auto& c = *s.conn;
        auto out = c.pending_output();
        if (out.empty()) return 0;
        char* gather = loop.scratch_.get() + plain_piece;
        if (out[0].file_fd >= 0) {
            auto want = static_cast<std::size_t>(std::min<std::uint64_t>(out[0].file_length, plain_piece));
            ssize_t n;
            do {
                n = ::pread(out[0].file_fd, gather, want, static_cast<off_t>(out[0].file_offset));
            } while (n < 0 && errno == EINTR);
            if (n <= 0) return -1;
            std::size_t taken = t.write(std::string_view(gather, static_cast<std::size_t>(n)));
            c.written(taken);
            return taken > 0 ? 1 : 0;
        }
        if (out[0].memory.size() >= plain_piece) {
            std::size_t taken = t.write(out[0].memory.substr(0, encrypt_ahead));
            c.written(taken);
            return taken > 0 ? 1 : 0;
        }
        std::size_t used = 0;
        for (auto const& chunk : out) {
            if (chunk.file_fd >= 0 || used + chunk.memory.size() > plain_piece) break;
            std::memcpy(gather + used, chunk.memory.data(), chunk.memory.size());
            used += chunk.memory.size();
        }
        if (used == 0) {  // only empty chunks up front: let the connection drop them
            std::size_t before = out.size();
            c.written(0);
            return c.pending_output().size() == before ? -1 : 1;
        }
        std::size_t taken = t.write(std::string_view(gather, used));
        c.written(taken);
        return taken > 0 ? 1 : 0;
    }
};

}  // namespace detail

// porthole::server over TLS: https_server<App> s(app, options, std::make_shared<tls::context>(config)).
template <class App, class Poller = detail::default_poller>
using https_server = server<App, Poller, detail::tls_transport>;

template <class A>
server(A&&, server_options, std::shared_ptr<tls::context>) -> server<A, detail::default_poller, detail::tls_transport>;

namespace detail {

// serve() with options.tls_cert_file (found through https_tag): SIGHUP reloads the certificate
// and key, SIGINT and SIGTERM stop.
template <class App>
int serve_https(https_tag<App>, App& app, server_options&& opts) {
    bool signals = opts.handle_signals;
    auto log = [&opts](std::string const& line) {
        if (opts.error_log) opts.error_log(line);
        else default_error_log(line);
    };
    try {
        tls::config c;
        c.server = {opts.tls_cert_file, opts.tls_key_file ? opts.tls_key_file : ""};
        auto context = std::make_shared<tls::context>(std::move(c));
        error_log_function error_log = opts.error_log;
        if (!signals) {
            server<App&, default_poller, tls_transport> s(app, std::move(opts), context);
            s.start();
            s.wait();
            return 0;
        }
        // Made before the server and gone after it, as in serve_here (serve.hpp).
        signal_pipe stop({SIGINT, SIGTERM});
        signal_pipe reload({SIGHUP});
        server<App&, default_poller, tls_transport> s(app, std::move(opts), context);
        s.start();
        for (;;) {
            pollfd p[2] = {{stop.fd(), POLLIN, 0}, {reload.fd(), POLLIN, 0}};
            if (::poll(p, 2, -1) < 0) continue;
            if (p[0].revents) break;
            reload.clear();
            try {
                context->reload();
            } catch (tls::error const& e) {
                std::string line = std::string(e.what()) + " (still serving the previous certificate)";
                if (error_log) error_log(line);
                else default_error_log(line);
            }
        }
        stop.next_ends_process();
        s.stop();
        return 0;
    } catch (std::exception const& e) {
        log(std::string(e.what()));
        return 1;
    }
}

}  // namespace detail

namespace testing {

// An OpenSSL client (an SSL_CTX the test sets up: trust, versions, ALPN, a client certificate)
// talking to an application through a tls::session and a connection, all in memory. Bytes
// the client sends reach the server in pieces the test chooses: cut at byte offset `cut` of
// the whole client-to-server stream, and/or in pieces of at most `piece` bytes.
template <class App>
class tls_client {
public:
    tls_client(App& app, tls::context const& server, SSL_CTX* client, connection_config config = {},
               char const* server_name = nullptr)
        : config_(std::move(config)),
          conn_(app, config_, test_date()),
          session_(server.current()),
          ssl_(SSL_new(client)) {
        BIO_new_bio_pair(&client_side_, 0, &network_, 0);
        SSL_set_bio(ssl_, client_side_, client_side_);
        if (server_name) SSL_set_tlsext_host_name(ssl_, server_name);
        SSL_set_connect_state(ssl_);
        conn_.set_peer("192.0.2.1:4433");
    }
    tls_client(tls_client const&) = delete;
    tls_client& operator=(tls_client const&) = delete;
    ~tls_client() {
        SSL_free(ssl_);
        BIO_free(network_);
    }

    std::size_t cut = 0;    // 0: no cut
    std::size_t piece = 0;  // 0: as they come

    // Runs the handshake until both sides are done or one fails; true if both are done.
    bool handshake() {
        for (int i = 0; i < 64; ++i) {
            int r = SSL_do_handshake(ssl_);
            pump();
            if (r == 1 && session_.established()) return true;
            if (r != 1) {
                int e = SSL_get_error(ssl_, r);
                if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return false;
            }
            if (session_.current_state() == tls::session::state::failed) return false;
        }
        return false;
    }

    // Sends plaintext from the client and moves bytes both ways until nothing moves.
    tls_client& send(std::string_view plain) {
        std::size_t n = 0;
        if (!plain.empty()) SSL_write_ex(ssl_, plain.data(), plain.size(), &n);
        pump();
        return *this;
    }
    // The client sends close_notify.
    tls_client& close() {
        SSL_shutdown(ssl_);
        pump();
        return *this;
    }

    std::string const& received() const noexcept { return received_; }    // plaintext at the client
    std::string const& sent_to_server() const noexcept { return wire_; }  // encrypted, as captured
    // As testing::client's: kept until the next call.
    std::vector<parsed_response> const& responses() const {
        parsed_ = parse_responses(received_);
        return parsed_;
    }
    tls::session& server_session() noexcept { return session_; }
    connection<App>& conn() noexcept { return conn_; }
    SSL* client_ssl() noexcept { return ssl_; }

private:
    void pump() {
        for (bool moved = true; moved;) {
            moved = false;
            // client -> server
            char buf[16 * 1024];
            int n;
            while ((n = BIO_read(network_, buf, sizeof buf)) > 0) {
                moved = true;
                std::string_view bytes(buf, static_cast<std::size_t>(n));
                wire_.append(bytes);
                deliver(bytes);
            }
            // server: connection output -> session -> network
            for (auto out = conn_.pending_output(); !out.empty() && session_.established() && !cut_;
                 out = conn_.pending_output()) {
                std::size_t total = 0;
                for (auto const& c : out) {
                    if (c.file_fd >= 0) {
                        if (!detail::pass_file_chunk(c.file_fd, c.file_offset, c.file_length,
                                                     [&](std::string_view bytes) { session_.write(bytes); })) {
                            cut_ = true;  // closed, as testing::client
                            break;
                        }
                    } else {
                        session_.write(c.memory);
                    }
                    total += static_cast<std::size_t>(c.size());
                }
                if (!cut_) conn_.written(total);
            }
            std::string_view enc = session_.output();
            while (!enc.empty()) {
                int w = BIO_write(network_, enc.data(), static_cast<int>(std::min<std::size_t>(enc.size(), 1 << 20)));
                if (w <= 0) break;
                session_.sent(static_cast<std::size_t>(w));
                enc = session_.output();
                moved = true;
            }
            // client reads what arrived
            for (;;) {
                std::size_t got = 0;
                if (SSL_read_ex(ssl_, buf, sizeof buf, &got) != 1) break;
                received_.append(buf, got);
                moved = true;
            }
        }
    }

    void deliver(std::string_view bytes) {
        while (!bytes.empty()) {
            std::size_t take = bytes.size();
            if (piece) take = std::min(take, piece);
            if (cut > delivered_ && cut < delivered_ + take) take = cut - delivered_;
            std::span<char> plain(plain_, sizeof plain_);
            session_.feed(std::span<char const>(bytes.data(), take), plain, [this](std::span<char> p) {
                conn_.feed(p);
                return conn_.wants_read();
            });
            while (session_.has_buffered_input() && conn_.wants_read())
                session_.resume(plain, [this](std::span<char> p) {
                    conn_.feed(p);
                    return conn_.wants_read();
                });
            if (session_.established() && !described_) {
                conn_.set_security(session_.client_subject());
                described_ = true;
            }
            if (session_.current_state() == tls::session::state::closed) conn_.read_eof();
            delivered_ += take;
            bytes.remove_prefix(take);
        }
    }

    connection_config config_;  // the connection refers to it
    connection<App> conn_;
    tls::session session_;
    SSL* ssl_;
    BIO* client_side_ = nullptr;
    BIO* network_ = nullptr;
    std::string wire_;
    std::string received_;
    mutable std::vector<parsed_response> parsed_;  // what responses() returned last
    bool cut_ = false;                             // the server's output stopped: a file ended early
    std::size_t delivered_ = 0;
    bool described_ = false;
    char plain_[16 * 1024];
};

}  // namespace testing

}  // namespace porthole

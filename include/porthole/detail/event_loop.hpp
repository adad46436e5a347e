// porthole/detail/event_loop.hpp: one thread's event loop. It accepts connections, moves bytes
// between sockets and sans-I/O connections, and applies timeouts; it never parses HTTP.
//
// The loop is generic over its connection type (anything with porthole::connection's driver
// interface) so that it depends on no HTTP header, and over its readiness back end.
#pragma once

#include <porthole/detail/client_affinity.hpp>
#include <porthole/detail/compiler.hpp>
#include <porthole/detail/engine_shared.hpp>
#include <porthole/detail/loop_timers.hpp>
#include <porthole/detail/poller.hpp>
#include <porthole/detail/sys.hpp>
#include <porthole/mailbox.hpp>
#include <porthole/metrics.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace porthole::detail {

// The reply to a connection beyond max_connections, written directly and best effort: the error
// page of response::error(status::service_unavailable), serialized here since no connection
// exists to do it.
inline constexpr std::string_view busy_reply =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Length: 19\r\n"
    "Connection: close\r\n"
    "\r\n"
    "Service Unavailable";
static_assert(busy_reply.size() - busy_reply.find("\r\n\r\n") - 4 == 19, "Content-Length: 19 is the body's size");

template <class Shared, class Poller>
class event_loop {
    using transport_type = typename Shared::transport_type;
    static constexpr bool encrypted = transport_type::encrypted;
    using connection_type = typename Shared::connection_type;
    using date_type = typename Shared::date_type;
    using connection_phase_type = decltype(std::declval<connection_type const&>().phase());
    using output_chunk_type =
        typename std::remove_cvref_t<decltype(std::declval<connection_type&>().pending_output())>::value_type;
    static_assert(
        requires(connection_type & c, std::span<char> b) { c.feed(b); },
        "the loop reads into its own buffer and hands connections spans");

    // A socket's state in the loop. Its HTTP connection exists only while a request is under
    // way: an idle keep-alive socket costs this slot (one 80-byte heap block, with the plain
    // transport and epoll) and nothing more, and the connection is made again from the loop's
    // read buffer when the next request comes. The flags are bits so that the slot stays within
    // 72 bytes, which malloc serves from an 80-byte block (one more byte would take 96).
    struct slot {
        slot(int f, peer_address const& p, bool check) noexcept : fd(f), peer(p), check_host(check) {}
        connection_type* conn = nullptr;
        slot* prev = nullptr;  // in the timer list, then in the graveyard
        slot* next = nullptr;
        std::int64_t deadline = 0;
        int fd;
        [[no_unique_address]] typename Poller::handle handle{};
        peer_address peer;
        std::uint8_t timer = t_none;
        bool readable : 1 = true;   // input may be waiting (edge-triggered: until a read comes up short)
        bool writable : 1 = true;   // the last write did not hit EAGAIN
        bool eof : 1 = false;       // the peer half-closed; never read again
        bool hangup : 1 = false;    // the poller saw the peer close: read on until recv() says so
        bool deferred : 1 = false;  // in again_: read budget spent, continue next iteration
        bool closed : 1 = false;
        bool served : 1 = false;          // answered a request: idle now means keep-alive
        bool output_watched : 1 = false;  // edge-triggered: the poller reports output room too
        bool check_host : 1 = false;      // came through a loopback listener
        bool lingering : 1 = false;       // answered and shut down for sending: input is read and dropped
        bool end_untold : 1 = false;      // TLS: close_notify came; told once an upgrade's output is out
        std::uint32_t requests = 0;       // answered by connection objects given back (for metrics)
        [[no_unique_address]] typename transport_type::connection_state tls{};  // plain: nothing
    };
    static_assert(sizeof(slot) <= 72 || !std::is_empty_v<typename Poller::handle> ||
                      !std::is_empty_v<typename transport_type::connection_state>,
                  "an idle plain socket's slot fits malloc's 80-byte block");

    struct listener {
        loop_listener socket;
        typename Poller::handle handle{};
    };

    static constexpr int accepts_per_wakeup = 64;
    static constexpr std::size_t spare_limit = 64;
    static constexpr int reads_per_wakeup = 16;
    // Sends (or, over TLS, records) per connection before the loop's others get a turn: a
    // response whose producer is slower than its reader never fills the socket, and would
    // otherwise hold the loop until its end (a large file compressed as it goes).
    static constexpr int writes_per_wakeup = 16;
    static constexpr int max_iov = 64;
    static constexpr std::int64_t accept_pause_ms = 100;
    // Lingering close: how long a connection closed before its peer was done sending reads and
    // drops what still comes, at most, before it closes anyway (the peer has had its answer).
    static constexpr std::chrono::milliseconds lingering_time{2000};

    // An encrypting transport moves the bytes of its sockets itself, with the loop's own steps
    // (awaken, settle, defer, close, socket_full) and buffers.
    friend transport_type;

public:
    // The listeners this loop accepts from: its own (closed by the loop when done) and those
    // shared with other loops (owned by the engine).
    event_loop(Shared& shared, std::span<loop_listener const> listeners) : shared_(shared) {
        auto const& s = shared_.settings;
        timers_.set_duration(t_idle, s.idle_timeout);
        timers_.set_duration(t_asleep, s.idle_timeout);
        timers_.set_duration(t_header, s.header_timeout);
        timers_.set_duration(t_body, s.body_timeout);
        timers_.set_duration(t_write, s.write_timeout);
        timers_.set_duration(t_answer, s.response_timeout);
        timers_.set_duration(t_stream, std::chrono::hours(24 * 365));
        timers_.set_duration(t_upgraded, s.upgraded_ping_interval.count() > 0
                                             ? s.upgraded_ping_interval
                                             : std::chrono::milliseconds(std::chrono::hours(24 * 365)));
        timers_.set_duration(t_upgraded_close, s.upgraded_close_timeout);
        timers_.set_duration(t_linger, lingering_time);
        reserve_.reset(reserve_descriptor());
#if !defined(__linux__)
        scratch_.reset(new char[scratch_size]);
#else
        if constexpr (encrypted) scratch_.reset(new char[scratch_size]);  // plaintext in and out
#endif
        tick();
        poller_.add_watch(wake_.fd(), &wake_tag_, wake_handle_);
        listeners_.reserve(listeners.size());  // never grows again: the elements are poller tags
        for (auto const& l : listeners) listeners_.push_back(listener{l, {}});
        for (auto& l : listeners_) poller_.add_watch(l.socket.fd, &l, l.handle, !l.socket.owned);
        listening_ = !listeners_.empty();
    }

    event_loop(event_loop const&) = delete;
    event_loop& operator=(event_loop const&) = delete;

    ~event_loop() {
        mailbox_->close();     // other threads' handles may outlive the loop: they post to nothing
        keep_spares_ = false;  // what closes now is freed, not made ready for reuse
        close_all();
        free_graveyard();
        stop_listening();
        for (connection_type* c : spare_) delete c;
        if (auto* m = metrics_shard_pointer()) m->loop_clock_ns = 0;  // this thread drives no loop now
    }

    int native_handle() const noexcept { return poller_.native_handle(); }
    std::size_t connection_count() const noexcept { return live_; }
    bool finished() const noexcept { return finished_; }

    // Only for a loop on a thread of the engine's own: see client_affinity.hpp.
    void follow_single_client(bool on, bool measured) noexcept { affinity_.enable(on, measured); }

    // Thread-safe: interrupts the loop's wait so it notices a stop request.
    void wake() const noexcept { wake_.notify(); }
    // For a caller that steps the loop and waits on native_handle(): connections whose budget
    // ran out go on at the next step, so the handle must be readable now, as it is for work.
    void keep_handle_ready() const noexcept {
        if (!again_.empty()) wake_.notify();
    }

    // One step: wait up to timeout_ms (-1: until something happens or a timer is due), handle
    // what is ready, expire timers. Returns false once a requested stop has drained.
    bool run_once(int timeout_ms) {
        if (finished_) return false;
        poller_.wait(
            again_.empty() ? wait_ms(timeout_ms) : 0, [this] { tick(); },
            [this](void* tag, unsigned ready) { on_ready(tag, ready); });
        // What other threads handed over (answers, stream data): the connections it reached
        // are written for with those the read budget deferred.
        mailbox_->run([this](void* tag) { defer(*static_cast<slot*>(tag)); });
        run_deferred();
        expire_timers();
        put_idle_to_sleep();
        if (affinity_.enabled()) follow_one_client();
        if (!listening_ && paused_until_ != 0 && now_ >= paused_until_) resume_listening();
        if (!draining_ && shared_.stop_requested.load(std::memory_order_relaxed)) begin_drain();
        if (draining_ && (live_ == 0 || now_ >= drain_deadline_)) {
            // 503, best effort, to requests still awaited, or still arriving (an upload)
            for (int k : {t_answer, t_body, t_header})
                while (slot* s = timers_[k].head) timed_out_reading(*s);
            close_all();
            free_graveyard();
            finished_ = true;
            return false;
        }
        free_graveyard();
        return true;
    }

private:
    void tick() noexcept {
        now_ = monotonic_ms();
        // With metrics on, a fine clock once per wakeup: requests read in it start then.
        if (auto* m = metrics_recorder()) [[unlikely]]
            m->loop_clock_ns = monotonic_ns();
        std::time_t wall = wall_seconds();
        if (wall != date_second_) {
            date_second_ = wall;
            date_.update(wall);
        }
    }

    int wait_ms(int timeout_ms) const noexcept {
        std::int64_t next = -1;
        auto consider = [&](std::int64_t d) {
            if (next < 0 || d < next) next = d;
        };
        for (auto const& l : timers_) {
            if (l.head) consider(l.head->deadline);
        }
        if (slot* s = timers_[t_idle].head) consider(sleep_time(*s));
        if (draining_) consider(drain_deadline_);
        if (!listening_ && paused_until_ != 0) consider(paused_until_);
        if (next < 0) return timeout_ms;
        std::int64_t until = std::max<std::int64_t>(0, next - now_ + 1);
        if (timeout_ms >= 0 && until > timeout_ms) return timeout_ms;
        return static_cast<int>(std::min<std::int64_t>(until, 60000));
    }

    void on_ready(void* tag, unsigned ready) {
        for (auto& l : listeners_) {
            if (tag != &l) continue;
            if (listening_) accept_batch(l);
            return;
        }
        if (tag == &wake_tag_) {
            wake_.clear();
            return;
        }
        slot& s = *static_cast<slot*>(tag);
        if (s.closed) return;  // closed earlier in this batch
        if ((ready & ready_read) && !s.eof) s.readable = true;
        if (ready & ready_hangup) {
            s.hangup = true;
            // A connection that reads nothing now (its answer comes later, a live stream, output
            // backed up) would not learn of a reset until it next writes, which a quiet stream
            // may never do; and poll(2) reports the hang-up at every wait meanwhile (a spinning
            // loop). A failed socket is gone both ways: close. A FIN alone is a half-close.
            if (s.conn && !s.conn->wants_read() && gone_while_paused(s)) [[unlikely]] {
                close(s);
                return;
            }
        }
        if (ready & ready_write) s.writable = true;
        drive(s);
    }

    // ------------------------------------------------------------ accepting

    // Accepts up to accept_batch_ connections. Learning when the backlog runs dry costs a
    // failing accept(), so the batch follows the load: it shrinks to what the backlog held
    // when a call comes up empty, and doubles after full batches in a row (a burst). Under a
    // steady trickle, most wakeups take their one connection and make no failing call.
    void accept_batch(listener& from) {
        int accepted = 0;
        bool made_room = false;
        for (int i = 0; i < accept_batch_; ++i) {
            sockaddr_storage peer{};
            socklen_t len = 0;
            int fd = accept_connection(from.socket.fd, peer, len);
            if (fd < 0) {
                if (errno == EINTR || errno == ECONNABORTED) continue;
                if (errno == EMFILE || errno == ENFILE) {
                    if (errno == EMFILE && !made_room && make_room()) {  // once: the descriptor may go elsewhere
                        made_room = true;
                        continue;
                    }
                    if (shed_one(from)) continue;
                    pause_listening();
                } else {  // EAGAIN: the backlog is empty
                    accept_batch_ = std::max(1, accepted);
                    full_batches_ = 0;
                }
                return;
            }
            ++accepted;
            if (!admit()) {
                reply_and_close(fd, refusal_reply());
                if (auto* m = metrics_recorder()) m->refused.add();
                continue;
            }
            if constexpr (!accepted_sockets_inherit_nodelay) prepare_connection_socket(fd);
            open_connection(fd, peer, from.socket.check_host);
        }
        if (++full_batches_ >= 4) {
            accept_batch_ = std::min(accepts_per_wakeup, 2 * accept_batch_);
            full_batches_ = 0;
        }
    }

    // ------------------------------------------------------------ a full server
    // (defined in detail/event_loop_room.hpp)

    bool admit() noexcept;
    bool make_room() noexcept;
    bool shed_one(listener& from) noexcept;

    void pause_listening() noexcept {
        if (!listening_) return;
        for (auto& l : listeners_) poller_.remove(l.socket.fd, l.handle);
        listening_ = false;
        paused_until_ = now_ + accept_pause_ms;
    }

    void resume_listening() {
        paused_until_ = 0;
        if (!reserve_) reserve_.reset(reserve_descriptor());
        for (auto& l : listeners_) poller_.add_watch(l.socket.fd, &l, l.handle, !l.socket.owned);
        listening_ = true;
    }

    void stop_listening() noexcept {
        if (listening_)
            for (auto& l : listeners_) poller_.remove(l.socket.fd, l.handle);
        listening_ = false;
        paused_until_ = 0;
        for (auto& l : listeners_)
            if (l.socket.owned && l.socket.fd >= 0) close_socket(l.socket.fd);
        listeners_.clear();
    }

    void open_connection(int fd, sockaddr_storage const& peer, bool check_host) {
        slot* s = new (std::nothrow) slot(fd, peer_address::from(peer), check_host);
        if (!s || !poller_.add_connection(fd, s, s->handle)) {
            delete s;
            close_socket(fd);
            shared_.connections.fetch_sub(1, std::memory_order_relaxed);
            return;
        }
        ++live_;
        if (auto* m = metrics_recorder()) m->accepted.add();
        timers_.link(*s, t_header, now_);  // until its first request, a connection is on the header clock
        if constexpr (encrypted) {         // the handshake runs on that clock too
            if (!shared_.transport.open(s->tls)) {
                close(*s);
                return;
            }
        }
        if constexpr (Poller::edge_triggered) {
            // Wait to be told of the request rather than read for it now: under load it comes
            // after the accept, and a read that finds nothing is a system call per connection.
            // Registering reports the socket's state as it is, so a request already there is
            // seen at the next wait.
            s->readable = false;
        } else {
            drive(*s);  // tries the socket, then tells the poller what to wait for
        }
    }

    // What a connection received (decrypted, under TLS), handed to it.
    void feed(slot& s, std::span<char> bytes) {
        bytes_fed_ += bytes.size();
        awaken(s).feed(bytes);
    }

    connection_type& awaken(slot& s) {
        if (!s.conn) {
            if (spare_.empty()) {
                s.conn = new connection_type(shared_.app, shared_.config, &date_);
            } else {
                s.conn = spare_.back();
                spare_.pop_back();
            }
            char name[64];
            std::size_t n = s.peer.format(name);
            s.conn->set_peer(std::string_view(name, n));
            if constexpr (requires { s.conn->set_host_check(true); }) s.conn->set_host_check(s.check_host);
            if constexpr (encrypted) shared_.transport.describe(s.tls, *s.conn);
            s.conn->attach(mailbox_, &s);
            if (draining_) s.conn->drain();
        }
        return *s.conn;
    }

    // The connection object goes back to the spares, up to a few: a busy loop then builds
    // none per connection, and an idle one holds no more than those.
    void hibernate(slot& s) noexcept {
        if (!s.conn) return;
        s.requests += static_cast<std::uint32_t>(s.conn->requests_served());
        if (keep_spares_ && spare_.size() < spare_limit) {
            try {
                s.conn->recycle();
                spare_.push_back(s.conn);  // never grows: reserved up front
                s.conn = nullptr;
                return;
            } catch (...) {}
        }
        delete s.conn;
        s.conn = nullptr;
    }

    connection_phase_type phase(slot const& s) const noexcept {
        if constexpr (encrypted) {  // encrypted bytes still to send, or a session that failed
            if (shared_.transport.has_output(s.tls)) {
                // Records the peer does not read stretch neither the handshake nor a request
                // head (a KeyUpdate asked for and answered, say): those keep the header clock.
                if (!s.conn) return s.served ? connection_phase_type::writing : connection_phase_type::reading_headers;
                auto ph = s.conn->phase();
                return ph == connection_phase_type::reading_headers ? ph : connection_phase_type::writing;
            }
            if (shared_.transport.finished(s.tls)) return connection_phase_type::closed;
        }
        return s.conn ? s.conn->phase() : connection_phase_type::idle;
    }

    // ------------------------------------------------------------ moving bytes

    void drive(slot& s) noexcept {
        if (s.lingering) [[unlikely]]
            return drop_input(s);
        if constexpr (encrypted) {
            shared_.transport.drive(*this, s);
            return;
        }
        bool progressed = false;
        std::size_t served_before = served(s);
        int writes = writes_per_wakeup;  // for this wake-up, between the reads too
        try {
            for (int budget = reads_per_wakeup;;) {
                if (s.conn && !flush(s, progressed, writes)) return;
                if (!s.readable) break;
                if (s.conn && !s.conn->wants_read()) {  // backpressure or closing: wait for output
                    if (gone_while_paused(s)) [[unlikely]] {
                        close(s);
                        return;
                    }
                    break;
                }
                if (budget-- == 0) {
                    defer(s);
                    break;
                }
                // Read into the loop's buffer; the connection works on it in place and keeps
                // only an unfinished request.
                long n = socket_receive(s.fd, input_.data(), input_.size());
                if (n > 0) {
                    progressed = true;
                    // A short read drained the socket; new data brings a new edge. Not so when the
                    // peer's FIN came with these bytes: no edge follows it, so read on to see it.
                    if (static_cast<std::size_t>(n) < input_.size() && !s.hangup) s.readable = false;
                    feed(s, std::span<char>(input_.data(), static_cast<std::size_t>(n)));
                } else if (n == 0) {
                    s.readable = false;
                    s.eof = true;
                    if (!s.conn) {
                        close(s);
                        return;
                    }
                    s.conn->read_eof();
                } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    s.readable = false;
                } else if (errno != EINTR) {
                    close(s);
                    return;
                }
            }
            settle(s, progressed, served_before);
        } catch (...) {
            // The connection answers a throwing handler with 500 itself; anything that still
            // escapes costs this connection only, never the loop.
            close(s);
        }
    }

    // Whether a connection that reads nothing now lost its client: a hang-up seen and the socket
    // failed (a reset). Asked where reading stops (the read that paused it may have come with
    // the hang-up's only edge) and when a hang-up comes while paused.
    static bool gone_while_paused(slot const& s) noexcept { return s.hangup && socket_failed(s.fd); }

    // Writes pending output until it is gone, the socket is full, or the write budget is spent
    // (then it goes on at the loop's next iteration); false if s was closed.
    bool flush(slot& s, bool& progressed, int& budget) {
        if constexpr (encrypted) return shared_.transport.flush(*this, s, progressed, budget);
        while (s.writable) {
            connection_type& c = *s.conn;
            std::span<output_chunk_type const> out = c.pending_output();
            if (out.empty()) return true;
            if (budget == 0) {
                defer(s);
                return true;
            }
            --budget;
            long n;
            std::size_t attempted;
            if (out[0].file_fd >= 0) {
                attempted = static_cast<std::size_t>(std::min<std::uint64_t>(out[0].file_length, 1u << 20));
                n = send_file_range(s.fd, out[0].file_fd, out[0].file_offset, attempted, scratch_.get(), scratch_size);
            } else {
                iovec iov[max_iov];
                int count = 0;
                attempted = 0;
                for (auto const& piece : out) {
                    if (piece.file_fd >= 0 || count == max_iov) break;
                    if (piece.memory.empty()) continue;
                    iov[count].iov_base = const_cast<char*>(piece.memory.data());
                    iov[count].iov_len = piece.memory.size();
                    attempted += piece.memory.size();
                    ++count;
                }
                if (count == 0) {
                    // Only empty chunks up front: let the connection drop them.
                    c.written(0);
                    if (c.pending_output().size() == out.size()) {
                        close(s);
                        return false;
                    }
                    continue;
                }
                if (count == 1) {  // the usual keep-alive answer: send() skips the iovec import
                    n = socket_send(s.fd, static_cast<char const*>(iov[0].iov_base), iov[0].iov_len);
                } else {
                    n = send_vectored(s.fd, iov, count);
                }
            }
            if (n > 0) {
                progressed = true;
                if (out[0].file_fd >= 0) {
                    if (auto* m = metrics_recorder()) m->sendfile_bytes.add(static_cast<std::uint64_t>(n));
                }
                c.written(static_cast<std::size_t>(n));
            } else if (n == 0 && attempted > 0) {
                close(s);  // a file ended early: the response cannot be completed
                return false;
            } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (!socket_full(s)) return false;
            } else if (errno != EINTR) {
                close(s);
                return false;
            }
        }
        return true;
    }

    // A write hit EAGAIN: wait for room. False if s was closed.
    bool socket_full(slot& s) noexcept {
        s.writable = false;
        if constexpr (Poller::edge_triggered) {
            if (!s.output_watched) {
                if (!poller_.want_output(s.fd, &s, s.handle)) {
                    close(s);
                    return false;
                }
                s.output_watched = true;
            }
        }
        return true;
    }

    // What a connection refused for want of room hears: a plain 503, or on an HTTPS port, where
    // plain text would be read as a broken record, nothing (the close alone).
    static constexpr std::string_view refusal_reply() noexcept {
        if constexpr (encrypted) return {};
        else return busy_reply;
    }

    static timer_kind kind_for(slot const& s, connection_phase_type ph) noexcept {
        switch (ph) {
            case connection_phase_type::reading_headers: return t_header;
            case connection_phase_type::reading_body: return t_body;
            case connection_phase_type::writing: return t_write;
            case connection_phase_type::awaiting_answer: return t_answer;
            case connection_phase_type::awaiting_stream: return t_stream;
            case connection_phase_type::upgraded: return t_upgraded;
            case connection_phase_type::upgraded_closing: return t_upgraded_close;
            default: return !s.served ? t_header : s.conn ? t_idle : t_asleep;
        }
    }

    // Requests the connection object in the slot has begun to answer.
    static std::size_t served(slot const& s) noexcept { return s.conn ? s.conn->requests_served() : 0; }

    // After bytes moved: close, or file the connection under the timeout its phase calls for.
    // served_before: served(s) before they moved.
    void settle(slot& s, bool progressed, std::size_t served_before) {
        auto ph = phase(s);
        if (s.conn && s.conn->requests_served() != 0) s.served = true;
        if (ph == connection_phase_type::closed || (draining_ && ph == connection_phase_type::idle)) {
            if (ph == connection_phase_type::closed && should_linger(s)) [[unlikely]]
                return linger(s);
            close(s);
            return;
        }
        // Going idle after anything but back-to-back requests: the connection object goes.
        if (ph == connection_phase_type::idle && (!s.served || (s.timer != t_idle && s.timer != t_asleep)))
            hibernate(s);
        timer_kind k = kind_for(s, ph);
        if (k != s.timer) {
            timers_.unlink(s);
            timers_.link(s, k, now_);
        } else if (k == t_header ? served(s) != served_before
                                 : progressed && s.deadline - timers_[k].duration + timers_[k].refresh <= now_) {
            // Progress restarts idle, body and write clocks (coarsely, to keep this cheap).
            // The header clock runs from a request's first byte to the end of its head: a head
            // begun behind an answered one (pipelined) has a clock of its own.
            timers_.unlink(s);
            timers_.link(s, k, now_);
        }
        if constexpr (!Poller::edge_triggered) {
            bool want_in = !s.readable && !s.eof && (!s.conn || s.conn->wants_read());
            poller_.set_interest(s.fd, s.handle, want_in, !s.writable);
        }
    }

    // ------------------------------------------------------------ lingering close
    // (defined in detail/event_loop_linger.hpp)

    bool should_linger(slot const& s) const noexcept;
    void linger(slot& s) noexcept;
    void drop_input(slot& s) noexcept;

    void defer(slot& s) {
        if (s.deferred) return;
        again_.push_back(&s);
        s.deferred = true;
    }

    void run_deferred() {
        if (again_.empty()) return;
        again_now_.swap(again_);
        for (slot* s : again_now_) s->deferred = false;
        for (slot* s : again_now_) {
            if (!s->closed) drive(*s);
        }
        again_now_.clear();
    }

    // ------------------------------------------------------------ timers
    // (defined in event_loop_timeouts.hpp)

    void expire_timers();
    static void count_timeout(metrics_shard& m, int k) noexcept;
    // Awake idle connections that saw no request for a while give their object back.
    std::int64_t sleep_time(slot const& s) const noexcept;
    void put_idle_to_sleep() noexcept;
    void timed_out_reading(slot& s) noexcept;
    bool timed_out_upgraded(slot& s) noexcept;

    // The server's few connections, all on this loop and idle after each wake-up (every answer
    // left at once: no download, upload or slow handler), have this thread run on their client's
    // CPU when the awake ones share one and, unless it follows always, while trials find that
    // the faster way (client_affinity.hpp); asleep ones are quiet.
    void follow_one_client() noexcept {
        std::array<int, client_affinity::most_connections> awake;
        std::size_t n = 0, asleep = 0;
        if (live_ <= awake.size() && !draining_ && shared_.connections.load(std::memory_order_relaxed) == live_) {
            for (slot* s = timers_[t_idle].head; s && n < awake.size(); s = s->next) awake[n++] = s->fd;
            for (slot* s = timers_[t_asleep].head; s; s = s->next) ++asleep;
        }
        affinity_.step({awake.data(), n + asleep == live_ ? n : 0}, now_, bytes_fed_);
    }

    // ------------------------------------------------------------ closing

    void close(slot& s) noexcept {
        if (s.closed) return;
        s.closed = true;
        timers_.unlink(s);
        if (s.deferred) {
            std::erase(again_, &s);
            s.deferred = false;
        }
        if constexpr (!Poller::edge_triggered) poller_.remove(s.fd, s.handle);
        if constexpr (encrypted) shared_.transport.close(s.tls, s.fd, s.peer, shared_.config.error_log);
        // Unread requests at close() would make the kernel reset the connection. A connection
        // never read yet may hold one its first event has not reported.
        bool never_read = !s.served && !s.conn;
        if ((s.readable || never_read) && !s.eof) drain_and_close(s.fd);
        else close_socket(s.fd);
        s.fd = -1;
        --live_;
        if (live_ == 0) affinity_.reset();
        else affinity_.forget();
        shared_.connections.fetch_sub(1, std::memory_order_relaxed);
        if (auto* m = metrics_recorder()) [[unlikely]]
            count_close(*m, s.requests + (s.conn ? s.conn->requests_served() : 0));
        s.next = graveyard_;  // freed after this iteration: later events may still name it
        graveyard_ = &s;
    }

    PORTHOLE_NOINLINE static void count_close(metrics_shard& m, std::uint64_t requests) noexcept {
        m.closed.add();
        std::size_t i = 0;
        while (i < metrics::requests_per_connection_buckets.size() &&
               requests > metrics::requests_per_connection_buckets[i])
            ++i;
        m.requests_per_connection[i].add();
        m.requests_per_connection_sum.add(requests);
    }

    void free_graveyard() noexcept {
        while (graveyard_) {
            slot* s = graveyard_;
            graveyard_ = s->next;
            hibernate(*s);
            delete s;
        }
    }

    void close_all() noexcept {
        for (auto& l : timers_) {
            while (l.head) close(*l.head);
        }
    }

    void begin_drain() {
        draining_ = true;
        drain_deadline_ = now_ + std::max<std::int64_t>(0, shared_.settings.drain_timeout.count());
        // Connections the kernel already accepted are clients in flight too: take them, then
        // close the listener.
        accept_batch_ = accepts_per_wakeup;
        for (auto& l : listeners_) {
            for (int i = 0; i < 64 && listening_; ++i) {
                std::size_t before = live_;
                accept_batch(l);
                if (live_ == before) break;
            }
        }
        stop_listening();
        while (slot* s = timers_[t_linger].head) close(*s);  // answered: nothing left to finish
        // Idle keep-alive connections go now, unless a request is already waiting in the
        // socket (the loop may have been busy in a handler): read it, answer it, then close.
        std::vector<slot*> idle;
        for (int k : {t_idle, t_asleep, t_header}) {
            for (slot* s = timers_[k].head; s; s = s->next) {
                if (phase(*s) == connection_phase_type::idle) idle.push_back(s);
            }
        }
        for (slot* s : idle) {
            if (s->closed) continue;
            if (!s->eof) s->readable = true;
            drive(*s);
            if (!s->closed && phase(*s) == connection_phase_type::idle) close(*s);
        }
        // The rest answer with Connection: close from now on, and live streams end.
        for (auto& l : timers_) {
            for (slot* s = l.head; s; s = s->next) {
                if (!s->conn) continue;
                s->conn->drain();
                defer(*s);
            }
        }
    }

    static constexpr std::size_t scratch_size = 64 * 1024;
    static constexpr std::size_t input_size = 64 * 1024;

    Shared& shared_;
    Poller poller_;
    wake_channel wake_;
    std::vector<listener> listeners_;
    std::shared_ptr<mailbox> mailbox_ = std::make_shared<mailbox>([this] { wake_.notify(); });
    bool listening_ = false;
    bool draining_ = false;
    bool finished_ = false;
    char wake_tag_ = 0;
    typename Poller::handle wake_handle_{};
    unique_fd reserve_;
    std::unique_ptr<char[]> scratch_;
    std::vector<char> input_ = std::vector<char>(input_size);
    std::int64_t now_ = 0;
    std::int64_t drain_deadline_ = 0;
    std::int64_t paused_until_ = 0;
    std::time_t date_second_ = 0;
    date_type date_{};
    loop_timers<slot> timers_;
    std::size_t live_ = 0;
    slot* graveyard_ = nullptr;
    std::vector<slot*> again_;
    std::vector<slot*> again_now_;
    bool keep_spares_ = true;
    int accept_batch_ = 1;  // connections to accept per wakeup of the listener, at most accepts_per_wakeup
    int full_batches_ = 0;  // wakeups in a row that took a whole batch
    client_affinity affinity_;
    std::uint64_t bytes_fed_ = 0;  // to connections, ever: the work done, for client_affinity's trials
    std::vector<connection_type*> spare_ = [] {
        std::vector<connection_type*> v;
        v.reserve(spare_limit);
        return v;
    }();
};

}  // namespace porthole::detail

#include <porthole/detail/event_loop_linger.hpp>
#include <porthole/detail/event_loop_timeouts.hpp>
#include <porthole/detail/event_loop_room.hpp>

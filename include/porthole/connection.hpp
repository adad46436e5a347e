// porthole/connection.hpp: one HTTP/1.1 connection as a state machine, bytes in, bytes out.
//
// It parses what it is fed, runs the application for each complete request, and queues the
// responses in order. It knows nothing about sockets, threads or clocks: a driver (the built-in
// server, your own event loop, porthole::testing) reads, feeds, writes what pending_output()
// gives, reports it with written(), and closes when should_close() says so. Timeouts are the
// driver's; phase() tells which one applies.
//
// Answers that come later (responder.hpp) and live streams (stream.hpp) reach the connection
// through its driver's mailbox (mailbox.hpp): a driver that offers them calls attach() and
// runs the mailbox in its step, then writes for each connection it names.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/access_log.hpp>
#include <porthole/app.hpp>
#include <porthole/body_stream.hpp>
#include <porthole/connection_config.hpp>
#include <porthole/detail/compiler.hpp>
#include <porthole/detail/header_storage.hpp>
#include <porthole/detail/local_host.hpp>
#include <porthole/http_date.hpp>
#include <porthole/mailbox.hpp>
#include <porthole/metrics.hpp>
#include <porthole/output_chunk.hpp>
#include <porthole/parser.hpp>
#include <porthole/responder.hpp>
#include <porthole/stream.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <list>
#include <memory>
#include <optional>
#include <exception>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace porthole {

enum class connection_phase : std::uint8_t {
    idle,              // waiting for the first byte of the next request (keep-alive)
    reading_headers,   // part of a request head has arrived
    reading_body,      // the head is complete, body bytes are outstanding
    writing,           // output is pending
    closed,            // nothing left to write and the connection should close: close it now
    awaiting_answer,   // the application answers later: the response timeout applies
    awaiting_stream,   // a live stream has nothing to send yet: no timeout applies
    upgraded,          // another protocol took over after a 101 (WebSocket): its keep-alive timer
    upgraded_closing,  // that protocol waits for the peer's close: the close timeout applies
};

template <class App>
class connection {
public:
    // `config` is shared, not copied (a driver's connections all use one): it must outlive the
    // connection. Without one, the defaults.
    explicit connection(App& app, connection_config const& config = detail::default_connection_config(),
                        date_source const* date = nullptr)
        : app_(app), config_(config), date_(date), parser_(shared_storage(), config_.limits) {
        static_assert(detail::check_application<App>());  // here, not in the class: see layer.hpp
        ex_.owner = this;
        ex_.on_notify = &connection::on_notify;
        ex_.log_error = [](void* self, std::string_view line) { static_cast<connection*>(self)->log_error(line); };
        ex_.workers = config_.workers;
    }
    // A temporary configuration would be gone before the connection: keep it in a variable.
    connection(App& app, connection_config&& config, date_source const* date = nullptr) = delete;
    connection(connection const&) = delete;
    connection& operator=(connection const&) = delete;
    ~connection() { let_go(); }

    // ---- things that happen later

    // The driver's mailbox, and how it knows this connection in mailbox::run()'s ready(tag).
    // Without one, a handler cannot answer later and live streams are never resumed. A mailbox
    // lives in a shared_ptr (std::make_shared<mailbox>(wake)): the links other threads hold
    // share it. The driver keeps it while the connection lives.
    void attach(std::shared_ptr<mailbox> const& box, void* tag) noexcept {
        ex_.box = box.get();
        ex_.tag = tag;
    }
    void attach(std::shared_ptr<mailbox>&&, void*) = delete;  // a temporary would be gone at once

    // The server stops: every response from now on says Connection: close (RFC 9112 9.6), and
    // live streams end once what is queued for them has gone out.
    void drain() noexcept {
        draining_ = true;
        if (up_) up_->drain();
        close_after_queued();
        for (std::size_t i = first_unsent_; i < segments_.size(); ++i) {
            auto& s = segments_[i];
            if (s.kind == segment::stream && s.live) {
                s.live->stopping.store(true, std::memory_order_release);
                s.paused = false;
            }
        }
    }

    // ---- input

    // Space to read into; every non-empty one is followed by commit(n), commit(0) when the read
    // gave nothing (EAGAIN, the end of input, an error): until then the space counts as input.
    // Empty when the connection wants no input now (ask wants_read() to decide whether to read).
    std::span<char> read_buffer() {
        if (up_) [[unlikely]] {
            in_size_before_commit_ = npos;
            return up_->read_buffer();
        }
        in_size_before_commit_ = in_.size();  // with no room offered too: commit(0) then keeps what is held
        if (!wants_read()) return {};
        if (in_.capacity() - in_.size() < min_read) in_.reserve(std::max(in_.size() + min_read, 2 * in_.capacity()));
        in_.resize(in_.capacity());
        return {in_.data() + in_size_before_commit_, in_.size() - in_size_before_commit_};
    }
    void commit(std::size_t n) {
        if (up_ && in_size_before_commit_ == npos) [[unlikely]]
            return up_->commit(n);
        in_.resize(in_size_before_commit_ + n);
        process_buffered();
    }
    // Hands in bytes that were read elsewhere. A mutable span is worked on in place (chunked
    // bodies are decoded into it); only an unfinished request's bytes are kept.
    void feed(std::span<char> bytes) {
        if (up_) [[unlikely]]
            return up_->feed(bytes);
        if (closing_) return;
        if (!in_.empty() || paused_ || (waiting_ && !taking_body())) {
            in_.append(bytes.data(), bytes.size());
            process_buffered();
            return;
        }
        std::size_t size = bytes.size();
        auto used = process(bytes.data(), size);
        keep_rest(bytes.data() + used, size - used);
    }
    void feed(std::string_view bytes) {
        if (up_) [[unlikely]]
            return feed_upgraded(bytes);
        if (closing_) return;
        in_.append(bytes);
        process_buffered();
    }
    // The peer will send nothing more. Responses already queued still go out, but the client
    // is taken to have left: an answer still to come is not awaited and a live stream ends.
    void read_eof() noexcept {
        if (up_) [[unlikely]]
            return up_->read_eof();
        closing_ = true;
        in_.clear();
        abort_body();
        abandon_answer();
        if (has_live_stream()) {
            let_go_of_streams();
            discard_output();
        }
    }

    // ---- output

    // What to write next, in order, listed in `room` (at most room.size() chunks; none if it is
    // empty). Valid until the next call that feeds or consumes.
    std::span<output_chunk const> pending_output(std::span<output_chunk> room) {
        if (up_ && first_unsent_ == segments_.size()) [[unlikely]]
            return upgraded_output(room);
        std::size_t n = 0;
        for (std::size_t i = first_unsent_; i < segments_.size() && n < room.size(); ++i) {
            auto& s = segments_[i];
            if (s.kind == segment::stream) {
                materialize_stream(s);
                if (s.paused) {  // nothing yet: what comes before it goes now
                    if (i == first_unsent_) shed_written_output();
                    break;
                }
                if (s.bytes.empty()) {  // a close-delimited stream that has ended
                    if (i != first_unsent_) break;
                    finish_front();
                    if (first_unsent_ == segments_.size()) reset_output();
                    return pending_output(room);
                }
            }
            output_chunk c;
            std::uint64_t skip = i == first_unsent_ ? front_done_ : 0;
            switch (s.kind) {
                case segment::buffered:
                    c.memory = std::string_view(out_.data() + s.begin + skip, s.end - s.begin - skip);
                    break;
                case segment::view: c.memory = s.bytes.substr(static_cast<std::size_t>(skip)); break;
                case segment::stream:
                    if (skip < s.chunk_head) {  // the size line, from the connection, then the piece
                        c.memory = std::string_view(chunk_head_.data() + skip, s.chunk_head - skip);
                        room[n++] = c;
                        if (n == room.size()) return room.first(n);
                        skip = s.chunk_head;
                    }
                    c.memory = s.bytes.substr(static_cast<std::size_t>(skip - s.chunk_head));
                    break;
                case segment::file:
                    c.file_fd = s.fd;
                    c.file_offset = s.file_offset + skip;
                    c.file_length = s.file_length - skip;
                    break;
            }
            room[n++] = c;
            if (s.kind == segment::stream) break;  // the next piece is made once this one is gone
        }
        return room.first(n);
    }
    // The same, in up to 16 chunks listed in storage this thread shares with every connection:
    // also invalid once pending_output() is called for another connection on this thread.
    std::span<output_chunk const> pending_output() {
        return pending_output(detail::thread_output_room<output_chunk>());
    }

    // n bytes of pending_output() were written (file chunks count their length).
    void written(std::size_t n) {
        if (up_ && first_unsent_ == segments_.size()) [[unlikely]]
            return up_->written(n);
        while (n > 0 && first_unsent_ < segments_.size()) {
            auto& s = segments_[first_unsent_];
            std::uint64_t left = s.size() - front_done_;
            if (n < left) {
                front_done_ += n;
                break;
            }
            n -= static_cast<std::size_t>(left);
            finish_front();
        }
        if (first_unsent_ == segments_.size()) reset_output();
        else compact_output();
        if (paused_ && !output_over_limit()) process_buffered();
    }

    // ---- state

    // While an answer is awaited, input is read (so that a client leaving is seen) and kept,
    // unparsed, up to a bound.
    bool wants_read() const noexcept {
        if (up_) [[unlikely]]
            return up_->wants_read();
        return !closing_ && !paused_ && (!waiting_ || in_.size() < waiting_input_limit);
    }
    // Whether another protocol (WebSocket) took over after a 101: its end of input drops what it
    // has queued, where an HTTP connection's keeps the responses.
    bool upgraded() const noexcept { return up_ != nullptr; }
    bool should_close() const noexcept {
        return closing_ || (up_ && up_->phase() == detail::upgraded_protocol::state::closed);
    }
    // Closing before the peer is done sending: a request refused or cut short, its body or what
    // came behind it unread. A driver then closes gently once the output is out (lingering close,
    // RFC 9112 section 9.6): it shuts down its sending side, and reads and drops what still
    // comes for a while, so that the peer reads the answer rather than a reset.
    bool closes_before_input_ends() const noexcept { return closing_ && input_cut_; }
    bool has_output() const noexcept { return first_unsent_ < segments_.size() || (up_ && up_->has_output()); }
    connection_phase phase() const noexcept {
        if (up_) [[unlikely]]
            return upgraded_phase();
        if (has_output()) {
            auto const& s = segments_[first_unsent_];
            bool idle_stream = s.kind == segment::stream && s.paused && front_done_ == 0;
            return idle_stream ? connection_phase::awaiting_stream : connection_phase::writing;
        }
        if constexpr (plans_bodies) {
            if (incoming_)
                return incoming_->waiting ? connection_phase::awaiting_answer : connection_phase::reading_body;
        }
        if (waiting_) return connection_phase::awaiting_answer;
        if (closing_) return connection_phase::closed;
        if (parser_.head_complete()) return connection_phase::reading_body;
        if (!in_.empty()) return connection_phase::reading_headers;
        return connection_phase::idle;
    }
    // A driver's timeout fired: 408 if a request was under way (503 at the end of a drain: the
    // server is going away, RFC 9110 15.6.4); 503 if the application's answer did not come in
    // time (the response timeout, or the end of a drain); then close. 503
    // rather than 504: porthole is the origin server here, not a gateway (RFC 9110 15.6.5).
    // While writing (the write timeout: the peer stopped reading), the peer is taken to have
    // left: nothing more is written, and the driver closes at once.
    void timeout();
    // Optional, before timeout() on an upgraded connection: the bytes written that the peer has
    // not taken yet (the socket's send queue, where the system tells). A WebSocket peer whose
    // backlog shrank is reading, so an unanswered ping waiting behind that data does not end it.
    void transport_backlog(std::size_t bytes) noexcept {
        if (up_) up_->transport_backlog(bytes);
    }

    // Bytes of memory the connection holds for its peer now: buffers and field storage, and
    // the bodies of responses it holds until they are written (which the application made).
    // docs/security.md bounds it by the limits.
    std::size_t memory_held() const noexcept {
        std::size_t n = in_.capacity() + out_.capacity() + path_.capacity() + peer_.capacity() +
                        stream_buf_.capacity() + own_storage_.capacity() * sizeof(header_field) +
                        segments_.capacity() * sizeof(segment);
        for (auto const& b : held_) n += sizeof(response::body_type) + response::body_view(b).size();
        if constexpr (plans_bodies)
            n += incoming_ ? sizeof(detail::incoming_body) : 0;  // the sink is the application's
        return n;
    }

    void set_peer(std::string_view address) { peer_.assign(address); }
    // The driver accepted this connection on a loopback address: a request whose Host (or
    // absolute-form authority) names anything but this machine is answered 421 Misdirected
    // Request without reaching the application (a DNS rebinding defence; see is_local_host).
    void set_host_check(bool on) noexcept { host_check_ = on; }
    // The connection runs over TLS; client_subject: the verified client certificate's subject,
    // if any, owned by the driver's TLS session, which outlives the connection's use of it.
    // Requests show both (request::secure, request::client_subject).
    void set_security(std::string_view client_subject) noexcept {
        secure_ = true;
        client_subject_ = client_subject;
    }
    std::size_t requests_served() const noexcept { return served_; }

    // Memory held between requests; a driver may call it for idle connections.
    void shrink() {
        if (up_) up_->shrink();
        if (in_.empty()) std::string().swap(in_);
        if (!has_output()) std::string().swap(out_);
    }

    // Back to the state of a new connection, for a driver that reuses connection objects:
    // nothing of the last peer stays (input, output, held responses and their files, counts),
    // and buffers up to a few KiB keep their memory so the next peer allocates nothing.
    void recycle() {
        let_go();
        parser_ = request_parser(shared_storage(), config_.limits);
        std::vector<header_field>().swap(own_storage_);
        segments_.clear();
        first_unsent_ = 0;
        front_done_ = 0;
        open_head_at_ = npos;
        held_.clear();
        for (auto* buffer : {&in_, &out_, &path_, &peer_, &stream_buf_}) {
            buffer->clear();
            if (buffer->capacity() > recycled_buffer_limit) std::string().swap(*buffer);
        }
        if (segments_.capacity() > 16) std::vector<segment>().swap(segments_);
        in_size_before_commit_ = 0;
        served_ = 0;
        closing_ = input_cut_ = paused_ = continue_sent_ = host_check_ = waiting_ = draining_ = secure_ = false;
        client_subject_ = {};
    }

private:
    static constexpr std::size_t min_read = 4096;
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    static constexpr std::size_t recycled_buffer_limit = 4096;
    static constexpr std::size_t waiting_input_limit = 64 * 1024;
    // Output bookkeeping: written segment records are dropped once there are this many and
    // they are half the queue; written bytes once this many and half of out_; out_ keeps at
    // most this much capacity when it empties; a held response counts this much besides a
    // string body (its head, fields and record). Input keeps the same capacity at most.
    static constexpr std::size_t compact_segments_at = 16;
    static constexpr std::size_t compact_bytes_at = 4096;
    static constexpr std::size_t kept_buffer_capacity = 64 * 1024;
    static constexpr std::size_t held_response_cost = 4096;

    struct segment {
        enum kind_t : std::uint8_t { buffered, view, file, stream } kind = buffered;
        bool last_of_held = false;       // finishing it releases the oldest held response
        std::size_t begin = 0, end = 0;  // buffered: range of out_
        std::string_view bytes;          // view; stream: the current framed piece
        int fd = -1;
        std::uint64_t file_offset = 0, file_length = 0;
        body_producer* producer = nullptr;       // stream
        detail::stream_channel* live = nullptr;  // a live stream (owned by its held response)
        bool stream_ended = false;
        bool paused = false;  // a live stream with nothing yet
        bool chunked = false;
        std::uint8_t chunk_head = 0;  // stream: bytes of chunk_head_ (the chunk's size line) before `bytes`
        std::uint64_t size() const noexcept {
            switch (kind) {
                case buffered: return end - begin;
                case file: return file_length;
                case stream: return chunk_head + bytes.size();
                default: return bytes.size();
            }
        }
    };

    using answered_request = detail::request_summary;

    std::span<header_field> shared_storage() { return detail::thread_header_storage(config_.limits.max_header_count); }

    // ---- request processing
    // (the connection's own answers are defined in detail/connection_own_answers.hpp)

    void process_buffered() {
        std::size_t size = in_.size();
        auto used = process(in_.data(), size);
        in_.resize(size);
        in_.erase(0, used);
        if (in_.empty() && in_.capacity() > kept_buffer_capacity) std::string().swap(in_);
    }

    void keep_rest(char const* p, std::size_t n) {
        if (n != 0) in_.assign(p, n);
    }

    // Parses and answers every complete request in [data, data+size); returns the bytes used.
    // An unfinished chunked body's decoded framing is dropped, which shrinks `size`.
    std::size_t process(char* data, std::size_t& size) {
        std::size_t off = 0;
        if constexpr (plans_bodies) {
            if (incoming_) {  // a body being streamed comes first; what follows it waits
                off = take_body(data, size);
                if (closing_) return size;
                if (incoming_) return off;
            }
        }
        if (waiting_) return off;  // requests behind an awaited answer wait, unparsed
        paused_ = false;
        if (detail::thread_header_storage_lent() != 0 && own_storage_.empty()) [[unlikely]]
            take_own_storage();  // nested inside a running handler
        while (!closing_ && !waiting_ && !up_ && off < size) {
            if (output_over_limit()) {
                paused_ = true;
                break;
            }
            if constexpr (plans_bodies) {
                if (!parser_.head_complete()) {
                    // The head first, so that the application can say how the body is taken.
                    auto head = parser_.parse_to_body(data + off, size - off);
                    if (head == parse_status::incomplete) break;
                    if (head == parse_status::complete && may_have_body(parser_.head()) && plan_body(size - off)) {
                        off += parser_.head_size();
                        parser_.reset();
                        continue_sent_ = false;
                        if (!closing_) off += take_body(data + off, size - off);
                        if (closing_) return size;
                        if (incoming_) break;
                        continue;
                    }
                }
            }
            auto st = parser_.parse(data + off, size - off);
            if (st == parse_status::incomplete) {
                size = off + parser_.discard_framing(data + off, size - off);
                on_incomplete();
                break;
            }
            if (st == parse_status::error) {
                if (!refused_by_application()) refuse_head(error_status(parser_.error()));
                break;
            }
            answer();
            off += parser_.consumed();
            parser_.reset();
            continue_sent_ = false;
        }
        if (closing_) {
            if (off < size) input_cut_ = true;  // requests behind the last one are dropped
            return size;
        }
        if (up_) [[unlikely]] {  // what follows the upgrade request is the new protocol's
            up_->feed(std::span<char>(data + off, size - off));
            return size;
        }
        // An unfinished message must not keep its fields in the thread's shared storage, which
        // the next connection on this thread reuses.
        if (off < size && own_storage_.empty()) take_own_storage();
        return off;
    }

    // Whether a streamed route may be asked how to take the body: one is framed, or the method
    // is one that carries a body (a POST with neither Content-Length nor Transfer-Encoding has a
    // zero-length body, RFC 9112 section 6.3, which a streamed route takes as one).
    static bool may_have_body(request_head const& h) noexcept {
        return h.framing != body_framing::none || !safe_methods.contains(h.method);
    }

    void take_own_storage() {
        own_storage_.resize(config_.limits.max_header_count);
        parser_.move_storage(own_storage_);
    }

    void on_incomplete() {
        if (!parser_.head_complete()) return;
        auto const& h = parser_.head();
        if (h.expect_unsupported) {
            refuse_head(status::expectation_failed);
        } else if (h.expect_continue && !continue_sent_ && h.version.minor >= 1) {
            append_buffered("HTTP/1.1 100 Continue\r\n\r\n");
            continue_sent_ = true;
        }
    }

    void answer() {
        auto const& h = parser_.head();
        target_views t;
        if (!split_head_target(h, t)) {
            refuse_head(status::bad_request);
            return;
        }
        request req = request_of(h, t, parser_.body(), h.keep_alive);
        // Before the method: a head that arrives without its body is refused 417 as soon as it
        // is complete (on_incomplete), whatever the method, and the answer must not depend on
        // whether the body came in the same read (nor the count of requests served).
        if (h.expect_unsupported) {
            refuse_head(status::expectation_failed);
            return;
        }
        ++served_;
        detail::metrics_shard* recorder = detail::metrics_recorder();
        if (recorder) [[unlikely]]
            metric_.begin(*recorder, static_cast<std::uint8_t>(h.method), parser_.consumed());
        if (h.method == method::other || h.method == method::connect) {
            if (recorder) metric_.routed(*recorder);
            finish(answered_request::of(req), response::error(status::not_implemented));
            return;
        }
        if ((host_check_ || h.form == target_form::absolute) && misdirected(h)) {
            if (recorder) metric_.routed(*recorder);
            finish(answered_request::of(req), response::error(status::misdirected_request));
            return;
        }
        if (h.form == target_form::asterisk) {  // OPTIONS *, about the server as a whole
            if (recorder) metric_.routed(*recorder);
            finish(answered_request::of(req), server_options_response());
            return;
        }
        response res = call_guarded(req);
        if (recorder) [[unlikely]]
            metric_.routed(*recorder);
        if (ex_.upgrade) [[unlikely]]
            return switch_protocols(req, std::move(res));
        if (ex_.started || res.answered_later()) [[unlikely]] {
            // Only a flag goes out of line, not the response, so that the common path still
            // knows what the response holds (and destroys it for nothing).
            auto outcome = await_answer(req, res.answered_later());
            if (outcome == awaiting::yes) return;
            if (outcome == awaiting::unanswerable) res = response::error(status::internal_server_error);
        }
        if (!res.valid()) [[unlikely]]
            replace_invalid(req, res);
        finish(answered_request::of(req), std::move(res));
    }

    // The head's target split (RFC 9112 3.2) and its path decoded. The decoded path is the raw
    // one unless it holds an escape (the parser lets no NUL or other control byte into a
    // target): most requests need no copy; one that does is decoded into path_.
    struct target_views {
        std::string_view path, raw_path, query;
    };
    bool split_head_target(request_head const& h, target_views& t) {
        detail::split_target(h.target, t.raw_path, t.query);
        t.path = t.raw_path;
        bool has_path = h.form == target_form::origin || h.form == target_form::absolute;
        if (has_path && t.raw_path.find('%') != std::string_view::npos) [[unlikely]] {
            path_.clear();
            if (!url::decode_path(t.raw_path, path_)) return false;  // a malformed escape
            t.path = path_;
        }
        return true;
    }
    request request_of(request_head const& h, target_views const& t, std::string_view body, bool keep_alive) {
        return request(request::parts{h.method, h.method_name, h.target, h.version, t.path, t.raw_path, t.query,
                                      h.headers, body, keep_alive, peer_, secure_, client_subject_, &ex_});
    }

    // A response that is not valid (response.hpp) is not sent: logged, a 500 instead.
    PORTHOLE_NOINLINE void replace_invalid(request const& req, response& res);
    // 421: an https target without TLS, or a Host (or absolute-form authority) that is not this
    // machine's (set_host_check).
    bool misdirected(request_head const& h) const noexcept;

    // The application's response, built in place, or a 500 if it threw.
    response call_guarded(request const& req) {
        try {
            detail::header_storage_lease lease;
            return call_application(app_, req);
        } catch (...) {
            log_error(detail::about_exception(req.method_name(), req.target()));
        }
        return response::error(status::internal_server_error);
    }

    // The answer to OPTIONS * (RFC 9110 9.3.7).
    static response server_options_response();

    // Whether any of the response's Connection fields lists `option` (RFC 9110 7.6.1: the options
    // may come in several fields).
    static bool connection_lists(response const& res, std::string_view option) noexcept {
        for (auto const& f : res.headers())
            if (iequals(f.name, "Connection") && list_contains(f.value, option)) return true;
        return false;
    }

    void finish(answered_request const& req, response&& res) {
        bool keep = req.keep_alive && !draining_ && !connection_lists(res, "close");
        if (!keep) closing_ = true;
        auto queued = queue_response(res, req.head_only, req.version, keep);
        if (metric_) [[unlikely]]
            metric_.end(to_int(res.status()), last_head_size_ + queued.bytes);
        if (config_.access_log)
            config_.access_log(access_entry{peer_, req.method_name, req.target, req.version, res.status(), queued.bytes,
                                            queued.size_known});
    }

    // The request an answer of the connection's own is for: the one whose request line the
    // parser read (its views are valid inside process(), or re-pointed by timeout()), else
    // unknown ("-": a request line malformed or cut short names no method for certain), though a
    // HEAD followed by its space is answered without content (RFC 9110 9.3.2) all the same.
    answered_request parsed_request() const noexcept {
        auto const& h = parser_.head();
        auto answered = parser_.request_line_parsed() ? answered_request{h.method_name, h.target, h.version, false}
                                                      : unknown_request();
        answered.head_only = h.method == method::head;
        return answered;
    }
    static answered_request unknown_request() noexcept { return {"-", "-", http_1_1, false, false}; }

    // A head refused before any application sees it: counted, answered, the connection closed.
    void refuse_head(status s);
    // Answers `answered` with `s`'s error page; returns the body bytes queued.
    std::uint64_t queue_error(status s, answered_request const& answered);
    // The connection's own answer `res` to `answered`, logged; returns the body bytes queued.
    std::uint64_t queue_own_answer(response& res, answered_request const& answered);
    PORTHOLE_NOINLINE void log_own_answer(status s, std::uint64_t bytes, answered_request const& answered);
    // The request the application holds gets `s` instead of its answer, counted as its answer.
    void answer_instead(status s);

    // ---- serialization
    // (defined in detail/connection_serialization.hpp)

    // What queue_response put on the output: the body bytes queued now, and whether that is the
    // whole body (false for a stream, whose bytes come later).
    struct queued_body {
        std::uint64_t bytes = 0;
        bool size_known = true;
    };
    // The response's head, and its body copied, referenced, held or streamed.
    queued_body queue_response(response& res, bool head_only, version v, bool keep);

    // The status line and header fields, written in one pass into room made once; `content`:
    // the status carries content (status_allows_content), so a Content-Type is sent.
    void write_head(response const& res, status st, bool body_allowed, bool content, bool chunked,
                    std::optional<std::uint64_t> size, version v, bool keep);
    // An application's Connection field, less the options that are the connection's, at p.
    static void put_connection_options(char*& p, std::string_view value) noexcept;

    // Draining: the last head queued says Connection: close while none of it has gone out.
    void close_after_queued() noexcept;

    // Appends to out_, extending the last buffered segment when it is the tail of the queue.
    void append_buffered(std::string_view bytes);

    // out_ grew from `begin`: extend the tail segment over the new bytes, or start one.
    void note_buffered(std::size_t begin);

    // Queues bytes to be sent where they lie (static data, or a held response's body).
    void push_view(std::string_view bytes, bool held);

    // Makes the stream segment's next framed piece current; a producer that throws cuts it short.
    PORTHOLE_NOINLINE void materialize_stream(segment& s);

    // A body cut short at segment i: nothing queued behind it goes out.
    void drop_output_after(std::size_t i) noexcept;

    // The front is a stream that waits, maybe long: keep nothing of what was written before it.
    void shed_written_output();

    // The front segment is written (a stream that goes on makes its next piece instead).
    void finish_front();

    // Drops what was written from the front of out_ and segments_ while the queue never empties.
    void compact_output();

    // Everything queued is written: the queue starts again, its buffer kept within bounds.
    void reset_output();

    // More output waits than max_output_buffered allows, or a file: reading stops meanwhile.
    bool output_over_limit() const noexcept;

    // Output waiting to be written, as backpressure counts it (held bodies included).
    std::size_t buffered_output() const noexcept;

    // ---- answers that come later, and live streams
    // (defined in detail/connection_later.hpp)

    // What await_answer() found: the answer is awaited, was given at once, or cannot come.
    enum class awaiting : std::uint8_t { yes, no, unanswerable };
    // The handler took a responder: hold the request's place until its answer comes.
    PORTHOLE_NOINLINE awaiting await_answer(request const& req, bool returned_later);

    // Sends the awaited answer if it has come; true if it had.
    bool take_answer();
    // The error log's writer for what befell `held`'s answer, naming its request.
    auto error_log_for(detail::answer_state const& held) {
        return [this, &held](std::string_view why) {
            log_error(detail::about_request(why, held.summary.method_name, held.summary.target));
        };
    }

    // Nobody waits for the answer any more (the client left, or the connection gives up);
    // `answered_instead`: the connection sent its own answer in its place (responder::replaced).
    void abandon_answer(bool answered_instead = false) noexcept;
    std::uint64_t queue_error_instead(status& s, detail::answer_state& held);

    // A live stream is queued: counted, told of a drain, and linked to the driver's mailbox.
    PORTHOLE_NOINLINE void start_live_stream(segment& s, detail::stream_channel& live);

    // A live stream is queued and has not ended.
    bool has_live_stream() const noexcept;
    void let_go_of_streams() noexcept {
        for (std::size_t i = first_unsent_; i < segments_.size(); ++i)
            if (segments_[i].kind == segment::stream && segments_[i].live) segments_[i].live->finish();
    }
    // Nothing queued will be written (the client left).
    void discard_output() noexcept;

    // The connection ends or is reused: every handle that reaches it learns so.
    void let_go() noexcept;

    // From the driver's mailbox: an answer came, or a live stream was resumed.
    static void on_notify(void* self) noexcept;
    void notified();
    // Something thrown where no answer can be given: the connection ends at once, nothing queued
    // is sent, and the driver closes it.
    void break_off() noexcept;

    // ---- request bodies taken as streams (body_stream.hpp), for applications that plan them
    // (defined in detail/connection_body_stream.hpp)

    static constexpr bool plans_bodies = detail::plans_bodies<App>;

    // A streamed body takes the bytes handed in where they are, without a copy.
    bool taking_body() const noexcept {
        if constexpr (plans_bodies) return incoming_ && !incoming_->waiting;
        else return false;
    }

    // The head is complete and a body follows: asks the application how it is taken (`arrived`:
    // the bytes in hand from the head on).
    PORTHOLE_NOINLINE bool plan_body(std::size_t arrived);

    // Streams what it can of [data, data + size) into the body being taken; the bytes used.
    PORTHOLE_NOINLINE std::size_t take_body(char* data, std::size_t size);

    // The body is in, or the sink wants no more (`cut`): the sink answers, now or later.
    void end_body(bool cut);

    // The body will not arrive whole: nobody waits for the sink's answer; `s` says why.
    void fail_body(status s);

    // A body being taken will not be finished: its sink is told so.
    void abort_body() noexcept;

    static void count_parse_error(status st) noexcept { detail::count_parse_error(to_int(st)); }

    // The parser refused a complete head's body (413): an application that answers refusals
    // (app.hpp) answers it, through its routes and layers. False: the connection answers itself.
    bool refused_by_application() {
        if constexpr (answers_refusals<App>)
            return parser_.error() == parse_error::body_too_large && answer_refusal(status::content_too_large);
        else return false;
    }
    PORTHOLE_NOINLINE bool answer_refusal(status refusal);

    // ---- after a 101 (upgrade.hpp)
    // (defined in detail/connection_upgrade.hpp)

    // The handler accepted an upgrade: the 101 goes out, then the new protocol has the bytes.
    PORTHOLE_NOINLINE void switch_protocols(request const& req, response&& res);

    void feed_upgraded(std::string_view bytes) {
        std::string copy(bytes);  // the protocol works on its input in place
        up_->feed(std::span<char>(copy.data(), copy.size()));
    }

    // After a 101: the new protocol's output, listed in `room`.
    PORTHOLE_NOINLINE std::span<output_chunk const> upgraded_output(std::span<output_chunk> room);

    // After a 101: the phase that the new protocol's state maps to.
    connection_phase upgraded_phase() const noexcept;

    void log_error(std::string_view message) {
        if (config_.error_log) config_.error_log(message);
        else detail::default_error_log(message);
    }

    App& app_;
    connection_config const& config_;
    date_source const* date_;
    request_parser parser_;
    std::vector<header_field> own_storage_;  // an unfinished message's fields
    std::string in_;
    std::size_t in_size_before_commit_ = 0;
    std::string path_;
    std::string peer_;
    std::string_view client_subject_;
    std::string out_;
    std::string stream_buf_;             // a stream's current piece
    std::array<char, 18> chunk_head_{};  // and its size line, when chunked (16 hex digits, CRLF)
    std::vector<segment> segments_;
    std::size_t first_unsent_ = 0;
    std::uint64_t front_done_ = 0;
    // Bodies written after their heads, kept until they are: stable addresses, and nothing
    // allocated until used. The rest of each response (fields, type) went with its head.
    std::list<response::body_type> held_;
    std::size_t served_ = 0;
    std::size_t last_head_size_ = 0;
    std::size_t open_head_at_ = npos;  // in out_: the last head queued, if it kept the connection open
    detail::request_record metric_;    // the request in flight, when recording
    detail::exchange ex_;
    std::unique_ptr<detail::upgraded_protocol> up_;  // the protocol after a 101, if any
    std::shared_ptr<detail::answer_state> pending_;
    bool closing_ = false;
    bool input_cut_ = false;  // closing with the peer's input unread (closes_before_input_ends)
    bool paused_ = false;
    bool continue_sent_ = false;
    bool host_check_ = false;
    bool secure_ = false;
    bool waiting_ = false;                             // an answer is awaited (pending_)
    bool draining_ = false;                            // the server stops
    std::unique_ptr<detail::incoming_body> incoming_;  // a request body being streamed (body_stream.hpp)
};

}  // namespace porthole

// The members of connection defined out of the class, by concept.
#include <porthole/detail/connection_own_answers.hpp>
#include <porthole/detail/connection_serialization.hpp>
#include <porthole/detail/connection_later.hpp>
#include <porthole/detail/connection_body_stream.hpp>
#include <porthole/detail/connection_upgrade.hpp>

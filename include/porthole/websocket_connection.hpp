// porthole/websocket_connection.hpp: one WebSocket connection after its opening handshake, as a
// state machine: bytes in, events and bytes out (RFC 6455 sections 5 to 8). It knows no sockets,
// threads or clocks; a driver feeds what it reads, takes events with next(), writes what
// pending_output() gives, and tells it about timeouts.
//
//   ws::connection ws;                          // after the 101 went out
//   ws.feed(bytes);                             // or read_buffer() + commit(n)
//   while (auto e = ws.next())                  // messages, pings, pongs, and one close
//       if (e->type == ws::event_type::text) ws.send_text(e->data);
//   write(ws.pending_output()); ws.written(n); // until has_output() is false
//   if (ws.phase() == ws::phase::closed && !ws.has_output()) close the socket
//
// Every MUST of RFC 6455 for a server is enforced on input, each failure closing with its code:
// unmasked client frames, reserved bits without an extension that defines them, unknown opcodes,
// fragmented or oversized control frames, continuation frames outside a message and data frames
// inside one, non-minimal or over-2^63 lengths, invalid close codes (1002); text that is not UTF-8,
// checked as bytes arrive and failing on the first bad one, across fragments (1007); messages
// over the size limit, decided from frame headers before the payload arrives (1009).
//
// What a peer can make the connection hold is bounded: a frame header (14 bytes), one control
// frame payload (125 bytes), one message (max_message_size, counted on the wire and after
// decompression), and one unsent pong (a newer ping replaces it, 5.5.3).
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/output_chunk.hpp>
#include <porthole/websocket_deflate.hpp>
#include <porthole/websocket_frame.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace porthole::ws {

// Which end this is. Servers read masked frames and send unmasked ones; clients the reverse
// (5.1). The client role is for tests and tools: its masking keys come from a seeded
// pseudo-random generator, not from a source fit to protect browsers' proxies (10.3).
enum class role : std::uint8_t { server, client };

struct config {
    ws::role role = ws::role::server;
    // The largest message taken, in payload bytes both on the wire and after decompression;
    // a frame header announcing more closes the connection with 1009 before its payload arrives.
    std::size_t max_message_size = 1024 * 1024;
    // Bytes waiting to be written beyond which the application's next send closes the connection
    // with 1013 (try again later) instead of queueing: the client reads too slowly, and the
    // server sheds it rather than hold ever more for it. Reading pauses at half of it.
    std::size_t max_queued_output = 1024 * 1024;
};

enum class event_type : std::uint8_t { text, binary, ping, pong, close };

// What next() reports. `data` is the message, the ping or pong's application data, or the close
// reason; it stays valid until the next call to next(), feed(), read_buffer() or commit().
struct event {
    event_type type = event_type::text;
    std::string_view data;
    // close only, reported once per connection: the peer's code (1005 when its Close frame had
    // none); the code this end sent when it failed the connection; 1006 when the connection ended
    // without a Close frame from the peer (end of input, timeout, unanswered heartbeat).
    close_code code = close_code::normal_closure;
    bool was_clean = false;  // close: Close frames went both ways (the closing handshake, 7.1.4)
};

enum class phase : std::uint8_t {
    open,     // messages flow both ways
    closing,  // this end sent Close and waits for the peer's: the driver's close timeout applies
    closed,   // nothing more is read; close the TCP connection once has_output() is false (7.1.1)
};

enum class send_result : std::uint8_t {
    queued,
    not_open,  // the connection is closing or closed: nothing was queued
    invalid,   // text not UTF-8, control data over 125 bytes, a close code that may not be sent
    overflow,  // the queue was over max_queued_output: the connection now closes with 1013
};

class connection {
public:
    explicit connection(ws::config const& c = {}, std::optional<deflate_params> deflate = std::nullopt,
                        deflate_options const& options = {})
        : config_(c) {
        if (deflate && deflate_available())
            codec_ = std::make_unique<detail::deflate_codec>(*deflate, options, c.role == role::server);
        if (c.role == role::client) mask_state_ = std::random_device{}() | 1ull;
    }
    connection(connection const&) = delete;
    connection& operator=(connection const&) = delete;

    // ---- input

    // Hands in bytes, worked on in place (unmasked where they lie): they must stay untouched
    // until next() has returned nullopt, after which nothing refers to them.
    void feed(std::span<char> bytes) {
        if (bytes.empty() || phase_ == phase::closed) return;
        if (window_left() != 0) {  // input not yet taken: keep it all together
            feed(std::string_view(bytes.data(), bytes.size()));
            return;
        }
        window_ = bytes.data();
        window_end_ = bytes.data() + bytes.size();
    }
    // Hands in bytes that are copied first.
    void feed(std::string_view bytes) {
        if (bytes.empty() || phase_ == phase::closed) return;
        std::size_t keep = keep_input(bytes.size());
        std::memcpy(in_.data() + keep, bytes.data(), bytes.size());
        window_end_ += bytes.size();
    }
    // Space to read into, then commit(n) with the bytes read; empty while the connection wants
    // no input.
    std::span<char> read_buffer() {
        if (!wants_read()) return {};
        std::size_t keep = keep_input(std::max(min_read, awaited_rest()));
        return {in_.data() + keep, in_.size() - keep};
    }
    void commit(std::size_t n) noexcept {
        if (phase_ != phase::closed) window_end_ += n;
    }
    // The peer will send nothing more: unless its Close came, the connection ends abnormally
    // (1006) and what was queued is dropped; after its Close, the answer still goes out.
    void read_eof() { abandon(); }

    // The next event, or nullopt when the input so far is used up.
    std::optional<event> next() {
        if (release_message_) {
            release_message_ = false;
            message_.clear();
            if (message_.capacity() > 64 * 1024) std::string().swap(message_);
        }
        while (!pending_close_ && phase_ != phase::closed && window_ != window_end_) {
            auto e = step();
            // After this end's Close, messages are no longer delivered (the peer's Close is).
            if (e && (phase_ == phase::open || is_control_event(e->type))) return e;
            if (awaiting_whole_frame_) {  // the window stays, in in_ (never the caller's bytes)
                awaiting_whole_frame_ = false;
                (void)keep_input(0);
                return std::nullopt;
            }
        }
        if (pending_close_) {
            pending_close_ = false;
            event e;
            e.type = event_type::close;
            e.code = close_event_code_;
            e.data = std::string_view(close_reason_.data(), close_reason_size_);
            e.was_clean = close_clean_;
            return e;
        }
        window_ = window_end_ = nullptr;
        return std::nullopt;
    }

    // ---- sending (RFC 6455 5.4, 5.5, 6.1). Nothing is queued unless the result is `queued`.

    // Sheds a client that reads too slowly, as a send past max_queued_output does (the sends of
    // other threads, held elsewhere, went past their own bound): what has not started to go out
    // is dropped, a Close with 1013 takes its place, nothing more is read, and the close event
    // reports 1013. Nothing once the connection is closing.
    void shed_slow_client() {
        if (phase_ == phase::open) overflow();
    }

    send_result send_text(std::string_view utf8) {
        if (!porthole::detail::valid_utf8(utf8))
            return phase_ == phase::open ? send_result::invalid : send_result::not_open;
        return send_data(opcode::text, utf8);
    }
    send_result send_binary(std::string_view bytes) { return send_data(opcode::binary, bytes); }
    // A frame encoded once for many connections (never compressed: 7692 lets any message go
    // uncompressed, and a compressed one would depend on each connection's compressor).
    send_result send(shared_frame const& frame) {
        if (auto r = may_send(); r != send_result::queued) return r;
        if (!frame) return send_result::invalid;
        if (config_.role == role::client) return send_data_frame_bytes(frame.bytes());  // clients must mask
        segment s;
        s.shared = frame;
        push(std::move(s), frame.bytes().size());
        return send_result::queued;
    }
    send_result ping(std::string_view data = {}) {
        if (phase_ != phase::open) return send_result::not_open;
        if (data.size() > max_control_payload) return send_result::invalid;
        queue_frame(opcode::ping, data);
        return send_result::queued;
    }
    // Starts the closing handshake (7.1.2): the code and a reason of at most 123 bytes of UTF-8
    // go out, nothing after them, and the peer's Close is awaited (phase closing).
    send_result close(close_code code = close_code::normal_closure, std::string_view reason = {}) {
        if (phase_ != phase::open) return send_result::not_open;
        if (!valid_close_code(to_int(code)) || reason.size() > max_close_reason ||
            !porthole::detail::valid_utf8(reason))
            return send_result::invalid;
        queue_close(code, reason);
        phase_ = phase::closing;
        return send_result::queued;
    }
    // For the driver's keep-alive timer: sends a ping, after checking that the previous one
    // was answered. Returns false when it was not: the peer is gone, and the connection is
    // abandoned (closed, nothing left to write, 1006 reported). A peer that took output held
    // back for it since the last heartbeat (transport_backlog) is reading, and its ping may wait
    // behind that data: it is not given up, and no second ping is sent.
    bool heartbeat() {
        if (phase_ != phase::open) return phase_ != phase::closed;
        bool took_output = took_output_;
        took_output_ = false;
        written_since_beat_ = 0;
        if (awaiting_pong_) {
            if (took_output) return true;
            abandon();
            return false;
        }
        awaiting_pong_ = true;
        queue_frame(opcode::ping, {});
        return true;
    }
    // For the driver, before heartbeat(), where it can tell: the bytes written that the peer
    // has not taken yet (a socket's send queue). A sign of life as input is: output held back
    // at the last count (the peer's receive window was full: its system takes nothing more
    // until the peer reads) and taken since, by more than the ping. A peer that hangs with room
    // in its buffer has everything taken for it, no backlog, and is given up as before.
    void transport_backlog(std::size_t bytes) noexcept {
        constexpr std::size_t ping_size = 2;  // heartbeat()'s: empty
        if (transport_backlog_ != 0 && bytes + ping_size < transport_backlog_ + written_since_beat_)
            took_output_ = true;
        transport_backlog_ = bytes;
    }
    // The server is stopping (7.4.1: 1001, going away): starts the closing handshake.
    void going_away() { close(close_code::going_away); }
    // The driver's timeout fired (the close timeout of the closing phase, or an idle one): the
    // connection is abandoned, 1006 reported unless a close was already.
    void timeout() { abandon(); }

    // ---- output

    // What to write next, in order: up to 16 pieces, or as many as fit in lent room. Valid until
    // the next call that sends, feeds or consumes, and until another connection of this thread
    // lists its own: the pieces are listed in an array the thread's connections share (as
    // connection::pending_output's chunks), so that a waiting connection carries none. A driver
    // that holds several connections' output at once lends each its room.
    std::span<std::string_view const> pending_output() noexcept {
        return pending_output(porthole::detail::thread_output_room<std::string_view>());
    }
    std::span<std::string_view const> pending_output(std::span<std::string_view> room) noexcept {
        std::size_t n = 0;
        for (std::size_t i = head_; i < segments_.size() && n < room.size(); ++i) {
            auto bytes = segment_bytes(segments_[i]);
            room[n++] = i == head_ ? bytes.substr(front_done_) : bytes;
        }
        return room.first(n);
    }
    // n bytes of pending_output() were written.
    void written(std::size_t n) noexcept {
        written_since_beat_ += n;
        queued_ -= std::min(n, queued_);
        while (n > 0 && head_ < segments_.size()) {
            std::size_t left = segment_bytes(segments_[head_]).size() - front_done_;
            if (n < left) {
                front_done_ += n;
                break;
            }
            n -= left;
            segments_[head_].shared = {};
            front_done_ = 0;
            ++head_;
        }
        if (head_ == segments_.size()) reset_output();
        else if (head_ != 0) compact_output();
    }
    bool has_output() const noexcept { return head_ < segments_.size(); }
    // The frames' bytes waiting to be written. Against max_queued_output each waiting frame
    // also counts cost_per_frame (its entry in the queue, and the queue's growth), so that a
    // flood of empty messages is bounded by the same limit as large ones.
    std::size_t queued_bytes() const noexcept { return queued_; }
    static constexpr std::size_t cost_per_frame = 64;
    // What counts against max_queued_output: queued_bytes() and cost_per_frame for each frame.
    std::size_t held_for_output() const noexcept { return queued_ + (segments_.size() - head_) * cost_per_frame; }
    // Bytes of memory the connection's buffers hold now (input, the message being reassembled,
    // the output queue; a compressor's state is not counted). What was written is given up from
    // the front of the queue even when the peer never lets it empty.
    std::size_t memory_held() const noexcept {
        return in_.capacity() + message_.capacity() + out_.capacity() + segments_.capacity() * sizeof(segment);
    }

    // ---- state

    ws::phase phase() const noexcept { return phase_; }
    // False while the peer's Close is in, or while too much output waits (the driver stops reading).
    bool wants_read() const noexcept {
        return phase_ != phase::closed && held_for_output() <= config_.max_queued_output / 2;
    }
    bool compressing() const noexcept { return codec_ != nullptr; }

    // Releases buffers that hold nothing now; a driver may call it for idle connections.
    void shrink() {
        if (window_left() == 0) {
            window_ = window_end_ = nullptr;
            std::string().swap(in_);
        }
        if (!has_output()) std::string().swap(out_);
        if (message_.empty() || release_message_) {
            release_message_ = false;
            std::string().swap(message_);
        }
        if (!has_output()) std::vector<segment>().swap(segments_);
    }

private:
    struct segment {
        std::size_t begin = 0, end = 0;  // a frame in out_, when `shared` is empty
        shared_frame shared;
    };
    static_assert(cost_per_frame >= 2 * sizeof(segment), "a frame's entry, and the vector's growth");
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    static constexpr std::size_t min_read = 4096;
    static constexpr std::size_t whole_frame_room = 64 * 1024;  // a frame awaited whole in in_, at most
    static constexpr bool is_control_event(event_type t) noexcept {
        return t == event_type::ping || t == event_type::pong;
    }

    std::string_view segment_bytes(segment const& s) const noexcept {
        return s.shared ? s.shared.bytes() : std::string_view(out_.data() + s.begin, s.end - s.begin);
    }
    std::size_t window_left() const noexcept { return static_cast<std::size_t>(window_end_ - window_); }
    // The bytes still to come of a one-frame message awaited whole in in_ (see step()), else 0.
    std::size_t awaited_rest() const noexcept {
        bool awaited =
            in_payload_ && !is_control(frame_op_) && whole_message_frame() && frame_left_ <= whole_frame_room;
        return awaited && frame_left_ > window_left() ? static_cast<std::size_t>(frame_left_) - window_left() : 0;
    }
    // The current data frame is a whole message, uncompressed, none of its payload taken yet.
    bool whole_message_frame() const noexcept {
        return frame_fin_ && frame_op_ != opcode::continuation && !message_compressed_ && frame_done_ == 0;
    }
    // Moves the input not yet taken to the front of in_, with room for `more` bytes after it;
    // the window then covers what was kept. Returns its size.
    std::size_t keep_input(std::size_t more) {
        std::size_t keep = window_left();
        bool inside = keep != 0 && !std::less<char const*>()(window_, in_.data()) &&
                      std::less<char const*>()(window_, in_.data() + in_.size());
        if (keep != 0 && !inside) {  // the caller's bytes, not all taken yet
            std::string rest(window_, keep);
            if (in_.size() < keep + more) in_.resize(keep + more);
            std::memcpy(in_.data(), rest.data(), keep);
        } else {
            if (keep != 0) std::memmove(in_.data(), window_, keep);
            if (in_.size() < keep + more)
                in_.resize(std::max(keep + more, std::min<std::size_t>(2 * in_.size(), 64 * 1024)));
        }
        window_ = in_.data();
        window_end_ = in_.data() + keep;
        return keep;
    }

    // ---- reading frames

    // Works on the input until an event is ready (returned) or the input is used up.
    std::optional<event> step() {
        if (!in_payload_) {
            if (!read_header()) return std::nullopt;
            if (phase_ == phase::closed) return std::nullopt;  // failed: the close is pending
            if (frame_left_ == 0) return end_of_frame();
        }
        std::size_t avail = window_left();
        if (is_control(frame_op_)) {
            std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(frame_left_, avail));
            unmask(control_.data() + control_size_, window_, take);
            control_size_ += take;
            return took(take);
        }
        // A whole message in one frame: unmasked in place and handed over as it lies, once all
        // here. Up to whole_frame_room it is awaited in the input buffer (read_buffer() makes room
        // for the rest), so a large message costs one copy less and fewer reads; what has come
        // is unmasked and its UTF-8 checked meanwhile, so that an invalid byte fails at once.
        if (whole_message_frame() && (frame_left_ <= avail || frame_left_ <= whole_frame_room)) {
            std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(frame_left_, avail));
            if (config_.role == role::server)
                detail::apply_mask(window_ + whole_seen_, window_ + whole_seen_, n - whole_seen_, key_,
                                   whole_seen_ & 3);
            if (message_op_ == opcode::text && !utf8_.feed(std::string_view(window_ + whole_seen_, n - whole_seen_)))
                return fail(close_code::invalid_payload_data, "invalid UTF-8");
            whole_seen_ = n;
            if (n < frame_left_) {
                awaiting_whole_frame_ = true;
                return std::nullopt;
            }
            if (message_op_ == opcode::text && !utf8_.complete())
                return fail(close_code::invalid_payload_data, "invalid UTF-8");
            std::string_view data(window_, n);
            window_ += n;
            frame_left_ = 0;
            whole_seen_ = 0;
            in_payload_ = false;
            in_message_ = false;
            return event{message_op_ == opcode::text ? event_type::text : event_type::binary, data};
        }
        std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(frame_left_, avail));
        std::size_t before = message_.size();
        auto inflated = detail::deflate_codec::result::ok;
        if (message_compressed_) {
            unmask(window_, window_, take);
            inflated = codec_->inflate({window_, take}, false, message_, config_.max_message_size);
        } else {
            message_.resize(before + take);
            unmask(message_.data() + before, window_, take);
        }
        // What came out is judged before an error that followed it, so that the verdict does not
        // depend on how the input was cut.
        if (message_op_ == opcode::text && !utf8_.feed(std::string_view(message_).substr(before)))
            return fail(close_code::invalid_payload_data, "invalid UTF-8");
        if (inflated != detail::deflate_codec::result::ok) return inflate_failed(inflated);
        return took(take);
    }

    // `take` payload bytes of the current frame are used.
    std::optional<event> took(std::size_t take) {
        window_ += take;
        frame_left_ -= take;
        frame_done_ += take;
        if (frame_left_ != 0) return std::nullopt;
        return end_of_frame();
    }

    // Reads header bytes; true once the header is complete (or failed a check, which closes).
    // Each part is judged as soon as it is here: the first byte, the second, the length.
    bool read_header() {
        while (header_size_ < header_need_) {
            if (window_ == window_end_) return false;
            std::size_t stop = header_size_ < 2             ? header_size_ + 1
                               : header_size_ < length_end_ ? length_end_
                                                            : header_need_;
            std::size_t take = std::min<std::size_t>(stop - header_size_, window_left());
            std::memcpy(header_.data() + header_size_, window_, take);
            window_ += take;
            header_size_ = static_cast<std::uint8_t>(header_size_ + take);
            bool ok = true;
            if (header_size_ == 1) ok = check_first_byte();
            else if (header_size_ == 2 && take != 0 && stop == 2) ok = check_second_byte();
            if (ok && header_size_ == length_end_ && stop == length_end_) ok = check_length();
            if (!ok) return true;
        }
        return start_frame();
    }

    bool check_first_byte() {
        auto b = static_cast<std::uint8_t>(header_[0]);
        frame_fin_ = (b & 0x80) != 0;
        bool rsv1 = (b & 0x40) != 0;
        std::uint8_t op = b & 0x0f;
        if (b & 0x30) return failed_header(close_code::protocol_error, "reserved bits set");
        if (!is_known_opcode(op)) return failed_header(close_code::protocol_error, "unknown opcode");
        frame_op_ = static_cast<opcode>(op);
        if (is_control(frame_op_)) {
            if (!frame_fin_) return failed_header(close_code::protocol_error, "fragmented control frame");
            if (rsv1) return failed_header(close_code::protocol_error, "reserved bits set");
        } else if (frame_op_ == opcode::continuation) {
            if (!in_message_) return failed_header(close_code::protocol_error, "continuation outside a message");
            if (rsv1) return failed_header(close_code::protocol_error, "reserved bits set");
        } else {
            if (in_message_) return failed_header(close_code::protocol_error, "new message inside a message");
            if (rsv1 && !codec_) return failed_header(close_code::protocol_error, "reserved bits set");
            frame_rsv1_ = rsv1;
        }
        return true;
    }

    bool check_second_byte() {
        auto b = static_cast<std::uint8_t>(header_[1]);
        bool masked = (b & 0x80) != 0;
        if (masked != (config_.role == role::server))
            return failed_header(close_code::protocol_error, masked ? "masked server frame" : "unmasked client frame");
        std::uint8_t len = b & 0x7f;
        if (is_control(frame_op_) && len > max_control_payload)
            return failed_header(close_code::protocol_error, "control frame too long");
        length_end_ = static_cast<std::uint8_t>(2 + (len == 126 ? 2 : len == 127 ? 8 : 0));
        header_need_ = static_cast<std::uint8_t>(length_end_ + (masked ? 4 : 0));
        return true;
    }

    // The payload length (5.2): the shortest form, under 2^63, and within the message limit.
    bool check_length() {
        auto const* h = reinterpret_cast<unsigned char const*>(header_.data());
        std::uint64_t len = h[1] & 0x7f;
        if (len == 126) {
            len = std::uint64_t{h[2]} << 8 | h[3];
            if (len < 126) return failed_header(close_code::protocol_error, "length not minimal");
        } else if (len == 127) {
            len = 0;
            for (std::size_t i = 0; i < 8; ++i) len = len << 8 | h[2 + i];
            if (len >> 63) return failed_header(close_code::protocol_error, "length over 2^63");
            if (len < 65536) return failed_header(close_code::protocol_error, "length not minimal");
        }
        if (!is_control(frame_op_)) {
            std::uint64_t so_far = frame_op_ == opcode::continuation ? message_wire_size_ : 0;
            if (len > config_.max_message_size - so_far)
                return failed_header(close_code::message_too_big, "message too big");
        }
        frame_length_ = len;
        return true;
    }

    bool start_frame() {
        if (config_.role == role::server) std::memcpy(key_.data(), header_.data() + length_end_, 4);
        header_size_ = 0;
        header_need_ = 2;
        length_end_ = 2;
        if (!is_control(frame_op_)) {
            if (frame_op_ != opcode::continuation) {  // a new message
                in_message_ = true;
                message_op_ = frame_op_;
                message_compressed_ = frame_rsv1_;
                message_wire_size_ = 0;
                utf8_.reset();
            }
            message_wire_size_ += frame_length_;
        } else {
            control_size_ = 0;
        }
        frame_left_ = frame_length_;
        frame_done_ = 0;
        in_payload_ = true;
        return true;
    }

    // A header failed a check: the connection fails; read_header() reports it complete.
    bool failed_header(close_code code, std::string_view why) {
        (void)fail(code, why);
        return false;
    }

    void unmask(char* to, char const* from, std::size_t n) noexcept {
        if (config_.role == role::server) {
            detail::apply_mask(to, from, n, key_, static_cast<std::size_t>(frame_done_ & 3));
        } else if (to != from && n != 0) {
            std::memcpy(to, from, n);
        }
    }

    std::optional<event> end_of_frame() {
        in_payload_ = false;
        if (is_control(frame_op_)) return control_frame();
        if (!frame_fin_) return std::nullopt;
        std::size_t before = message_.size();
        auto inflated = detail::deflate_codec::result::ok;
        if (message_compressed_) inflated = codec_->inflate({}, true, message_, config_.max_message_size);
        if (message_op_ == opcode::text && !utf8_.feed(std::string_view(message_).substr(before)))
            return fail(close_code::invalid_payload_data, "invalid UTF-8");
        if (inflated != detail::deflate_codec::result::ok) return inflate_failed(inflated);
        if (message_op_ == opcode::text && !utf8_.complete())
            return fail(close_code::invalid_payload_data, "invalid UTF-8");
        in_message_ = false;
        release_message_ = true;
        return event{message_op_ == opcode::text ? event_type::text : event_type::binary, message_};
    }

    std::optional<event> inflate_failed(detail::deflate_codec::result r) {
        if (r == detail::deflate_codec::result::too_big) return fail(close_code::message_too_big, "message too big");
        return fail(close_code::invalid_payload_data, "invalid compressed data");
    }

    std::optional<event> control_frame() {
        std::string_view data(control_.data(), control_size_);
        switch (frame_op_) {
            case opcode::ping:
                if (phase_ == phase::open) queue_pong(data);
                return event{event_type::ping, data};
            case opcode::pong: awaiting_pong_ = false; return event{event_type::pong, data};
            default: break;
        }
        // Close (5.5.1, 7.1.5, 7.4): no payload, or a code and UTF-8 reason.
        close_code code = close_code::no_status_received;
        std::string_view reason;
        if (data.size() == 1) return fail(close_code::protocol_error, "close frame of one byte");
        if (data.size() >= 2) {
            auto c = static_cast<std::uint16_t>(static_cast<std::uint8_t>(data[0]) << 8 |
                                                static_cast<std::uint8_t>(data[1]));
            if (!valid_close_code(c)) return fail(close_code::protocol_error, "invalid close code");
            code = static_cast<close_code>(c);
            reason = data.substr(2);
            if (!porthole::detail::valid_utf8(reason)) return fail(close_code::invalid_payload_data, "invalid UTF-8");
        }
        if (phase_ == phase::open) {  // echo the code (5.5.1), then close
            if (data.size() >= 2) queue_close(code, {});
            else queue_frame(opcode::close, {});
        }
        phase_ = phase::closed;
        report_close(code, reason, true);
        return std::nullopt;  // next() returns the close event
    }

    // ---- failing and ending (7.1.7, 7.1.1)

    // Fails the connection: a Close with `code` goes out unless one already did, and nothing more
    // is read. The close event reports `code`.
    std::optional<event> fail(close_code code, std::string_view why) {
        if (phase_ == phase::open) queue_close(code, why);
        phase_ = phase::closed;
        report_close(code, why, false);
        return std::nullopt;
    }

    // The connection ends without a closing handshake: nothing more is read or written. Once
    // closed already (the peer's Close came, the answer may still be going out), it only stops
    // reading.
    void abandon() {
        window_ = window_end_ = nullptr;
        if (phase_ == phase::closed) return;
        phase_ = phase::closed;
        report_close(close_code::abnormal_closure, {}, false);
        segments_.clear();
        reset_output();
    }

    void report_close(close_code code, std::string_view reason, bool clean) {
        if (close_reported_) return;
        close_reported_ = true;
        pending_close_ = true;
        close_event_code_ = code;
        close_reason_size_ = std::min(reason.size(), close_reason_.size());
        if (close_reason_size_ != 0) std::memcpy(close_reason_.data(), reason.data(), close_reason_size_);
        close_clean_ = clean;
        window_ = window_end_ = nullptr;  // nothing after a close is read
    }

    // ---- writing frames

    send_result may_send() {
        if (phase_ != phase::open) return send_result::not_open;
        if (held_for_output() > config_.max_queued_output) {
            overflow();
            return send_result::overflow;
        }
        return send_result::queued;
    }

    send_result send_data(opcode op, std::string_view payload) {
        if (auto r = may_send(); r != send_result::queued) return r;
        if (codec_ && payload.size() >= codec_->options().min_size) {
            thread_local std::string compressed;
            compressed.clear();
            if (codec_->deflate(payload, compressed)) {
                frame_flags f;
                f.rsv1 = true;
                queue_frame(op, compressed, f);
                if (compressed.capacity() > 256 * 1024) std::string().swap(compressed);
                return send_result::queued;
            }
        }
        queue_frame(op, payload);
        return send_result::queued;
    }

    // A client sends a shared frame's message again, masked.
    send_result send_data_frame_bytes(std::string_view frame) {
        auto b1 = static_cast<std::uint8_t>(frame[1]) & 0x7f;
        std::size_t header = 2 + (b1 == 126 ? 2 : b1 == 127 ? 8 : 0);
        auto op = static_cast<opcode>(static_cast<std::uint8_t>(frame[0]) & 0x0f);
        queue_frame(op, frame.substr(header));
        return send_result::queued;
    }

    void queue_close(close_code code, std::string_view reason) {
        char payload[max_control_payload];
        payload[0] = static_cast<char>(to_int(code) >> 8);
        payload[1] = static_cast<char>(to_int(code) & 0xff);
        std::size_t n = std::min(reason.size(), max_close_reason);
        if (n != 0) std::memcpy(payload + 2, reason.data(), n);
        queue_frame(opcode::close, std::string_view(payload, n + 2));
    }

    // A pong answers the newest ping only: an unsent pong still at the end of the queue is
    // replaced (5.5.3), so a ping flood holds one pong.
    void queue_pong(std::string_view data) {
        if (pong_at_ != npos && !segments_.empty() && segments_.size() - 1 >= head_ && !segments_.back().shared &&
            segments_.back().begin == pong_at_ && !(segments_.size() - 1 == head_ && front_done_ != 0)) {
            queued_ -= segments_.back().end - segments_.back().begin;
            segments_.pop_back();
            out_.resize(pong_at_);
        }
        std::size_t at = out_.size();
        queue_frame(opcode::pong, data);
        pong_at_ = at;
    }

    void queue_frame(opcode op, std::string_view payload, frame_flags f = {}) {
        if (config_.role == role::client) {
            f.masked = true;
            for (auto& k : f.key) k = next_mask_byte();
        }
        std::size_t at = out_.size();
        encode_frame_to(out_, op, payload, f);
        segment s;
        s.begin = at;
        s.end = out_.size();
        push(std::move(s), s.end - s.begin);
    }

    void push(segment&& s, std::size_t size) {
        pong_at_ = npos;
        segments_.push_back(std::move(s));
        queued_ += size;
    }

    // The client reads too slowly (see config::max_queued_output): what has not started to go
    // out is dropped, and a Close with 1013 takes its place; nothing more is read.
    void overflow() {
        std::size_t keep = head_ + (front_done_ != 0 ? 1 : 0);
        for (std::size_t i = keep; i < segments_.size(); ++i) queued_ -= segment_bytes(segments_[i]).size();
        segments_.resize(keep);
        if (segments_.empty() || head_ == segments_.size()) reset_output();
        else if (!segments_.back().shared) out_.resize(segments_.back().end);
        (void)fail(close_code::try_again_later, "client too slow");
    }

    // Drops what was written from the front of the queue while the rest waits, once it is at
    // least as large as the rest (each byte is moved at most once on average): a client that
    // reads steadily but never lets the queue empty holds no more than what waits for it.
    void compact_output() noexcept {
        constexpr std::size_t min_bytes = 64 * 1024, min_frames = 1024;
        bool frames = head_ >= min_frames && head_ >= segments_.size() - head_;
        if (!frames && out_.size() < min_bytes) return;  // before the scan below: this runs per write
        std::size_t cut = out_.size();                   // out_ before the first waiting frame of its own
        for (std::size_t i = head_; i < segments_.size(); ++i) {
            if (!segments_[i].shared) {
                cut = segments_[i].begin;
                break;
            }
        }
        bool bytes = cut >= min_bytes && cut >= out_.size() - cut;
        if (!bytes && !frames) return;
        out_.erase(0, cut);
        segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
        for (auto& seg : segments_) {
            if (seg.shared) continue;
            seg.begin -= cut;
            seg.end -= cut;
        }
        if (pong_at_ != npos) pong_at_ = pong_at_ >= cut ? pong_at_ - cut : npos;
    }

    void reset_output() noexcept {
        segments_.clear();
        head_ = 0;
        front_done_ = 0;
        pong_at_ = npos;
        queued_ = 0;
        out_.clear();
        if (out_.capacity() > 64 * 1024) std::string().swap(out_);
    }

    std::uint8_t next_mask_byte() noexcept {  // xorshift64: enough for tests, see ws::role
        mask_state_ ^= mask_state_ << 13;
        mask_state_ ^= mask_state_ >> 7;
        mask_state_ ^= mask_state_ << 17;
        return static_cast<std::uint8_t>(mask_state_ >> 24);
    }

    ws::config config_;
    std::unique_ptr<detail::deflate_codec> codec_;
    ws::phase phase_ = ws::phase::open;

    // input: the bytes not yet taken, in the caller's buffer or in in_
    char* window_ = nullptr;
    char* window_end_ = nullptr;
    std::string in_;  // storage only: its size is room, the window says what is input

    // the frame being read
    std::array<char, max_frame_header> header_{};
    std::uint8_t header_size_ = 0;
    std::uint8_t header_need_ = 2;
    std::uint8_t length_end_ = 2;  // where the extended length ends (known from the second byte)
    std::uint64_t frame_length_ = 0;
    bool in_payload_ = false;
    bool frame_fin_ = false;
    bool frame_rsv1_ = false;
    opcode frame_op_ = opcode::continuation;
    masking_key key_{};
    std::uint64_t frame_left_ = 0;
    std::uint64_t frame_done_ = 0;
    std::size_t whole_seen_ = 0;  // a whole-frame message awaited: its bytes here, unmasked and checked
    bool awaiting_whole_frame_ = false;
    std::array<char, max_control_payload> control_{};
    std::size_t control_size_ = 0;

    // the message being read
    bool in_message_ = false;
    bool message_compressed_ = false;
    bool release_message_ = false;
    opcode message_op_ = opcode::text;
    std::uint64_t message_wire_size_ = 0;
    std::string message_;
    porthole::detail::utf8_validator utf8_;

    // closing
    bool close_reported_ = false;
    bool pending_close_ = false;
    bool close_clean_ = false;
    bool awaiting_pong_ = false;
    bool took_output_ = false;            // since the last heartbeat (transport_backlog)
    std::size_t transport_backlog_ = 0;   // at the last transport_backlog()
    std::size_t written_since_beat_ = 0;  // since the last heartbeat
    close_code close_event_code_ = close_code::normal_closure;
    std::array<char, max_close_reason> close_reason_{};
    std::size_t close_reason_size_ = 0;

    // output
    std::string out_;
    std::vector<segment> segments_;
    std::size_t head_ = 0;
    std::size_t front_done_ = 0;
    std::size_t queued_ = 0;
    std::size_t pong_at_ = npos;
    std::uint64_t mask_state_ = 0;
};

}  // namespace porthole::ws

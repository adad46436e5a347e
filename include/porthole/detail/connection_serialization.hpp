// porthole/detail/connection_serialization.hpp: how a connection writes its responses: the head in
// one pass; the body copied next to it, referenced, held until written, or streamed; and the output
// queue that pending_output() lists and written() consumes. Members of connection (connection.hpp),
// defined here, out of the class.
#pragma once

#include <porthole/connection.hpp>

namespace porthole {

template <class App>
inline auto connection<App>::queue_response(response& res, bool head_only, version v, bool keep) -> queued_body {
    auto st = res.status();
    bool body_allowed = status_allows_body(st);
    auto size = res.body_size();
    bool content = status_allows_content(st);
    if (body_allowed && !content) [[unlikely]]
        size = 0;  // a 205: framed as empty, its content dropped
    bool streamed = body_allowed && !size.has_value();
    bool chunked = streamed && v.minor >= 1;
    if (streamed && !chunked && !head_only) {  // HTTP/1.0 stream: delimited by closing (HEAD: no body)
        keep = false;
        closing_ = true;
    }
    write_head(res, st, body_allowed, content, chunked, size, v, keep);
    if (!content || head_only) return {};

    auto& body = res.body();
    if (auto view = res.body_view(); size && !std::holds_alternative<file_body>(body)) {
        if (view.size() <= config_.inline_body_limit || std::holds_alternative<std::string_view>(body)) {
            if (view.size() <= config_.inline_body_limit) {
                append_buffered(view);
            } else {  // static data: referenced, not copied
                push_view(view, false);
            }
            return {view.size()};
        }
        held_.push_back(std::move(body));
        push_view(response::body_view(held_.back()), true);
        return {view.size()};
    }
    if (auto f = std::get_if<file_body>(&body)) {
        segment s;
        s.kind = segment::file;
        s.fd = f->fd ? f->fd->get() : -1;
        s.file_offset = f->offset;
        s.file_length = f->length;
        s.last_of_held = true;
        held_.push_back(std::move(body));
        if (s.file_length == 0) {
            held_.pop_back();
            return {};
        }
        segments_.push_back(s);
        return {f->length};
    }
    if (std::holds_alternative<stream_body>(body)) {
        held_.push_back(std::move(body));
        segment s;
        s.kind = segment::stream;
        auto& sb = std::get<stream_body>(held_.back());
        s.producer = &sb.next;
        s.chunked = chunked;
        s.last_of_held = true;
        segments_.push_back(s);
        // Stored first: the segment that counts a live stream is the one that ends it.
        if (sb.live) start_live_stream(segments_.back(), *sb.live);
        return {0, false};
    }
    return {};
}

// The status line and header fields, written in one pass into room made once: this runs
// for every response, and a dozen appends that each check capacity cost more than the bytes.
template <class App>
inline void connection<App>::write_head(response const& res, status st, bool body_allowed, bool content, bool chunked,
                                        std::optional<std::uint64_t> size, version v, bool keep) {
    auto reason = reason_phrase(st);
    bool date = date_ && !date_->value().empty();
    for (auto const& f : res.headers()) date = date && !iequals(f.name, "Date");  // the application's own wins
    auto ct = res.content_type();
    // Room for the longest form of each piece written below (each sizeof counts a spare byte).
    constexpr std::size_t fixed_room = sizeof("HTTP/1.1 000 \r\n") + sizeof("Date: \r\n") +
                                       sizeof("Server: porthole\r\n") + sizeof("Content-Type: \r\n") +
                                       sizeof("Content-Length: 18446744073709551615\r\n") +
                                       sizeof("Connection: keep-alive\r\n") + sizeof("\r\n");
    std::size_t need = fixed_room + reason.size() + (date ? date_->value().size() : 0) + ct.size();
    for (auto const& f : res.headers()) need += f.name.size() + sizeof(": \r\n") - 1 + f.value.size();
    std::size_t begin = out_.size();
    out_.resize(begin + need);
    char* p = out_.data() + begin;
    auto put = [&p](std::string_view b) PORTHOLE_ALWAYS_INLINE_LAMBDA {  // a few bytes: a call costs more
        std::memcpy(p, b.data(), b.size());
        p += b.size();
    };
    char line[16] = "HTTP/1.1 000 ";
    auto code = to_int(st);
    line[9] = static_cast<char>('0' + code / 100 % 10);
    line[10] = static_cast<char>('0' + code / 10 % 10);
    line[11] = static_cast<char>('0' + code % 10);
    put(std::string_view(line, 13));
    put(reason);
    put("\r\n");
    if (date) {
        put("Date: ");
        put(date_->value());
        put("\r\n");
    }
    if (config_.server_header) put("Server: porthole\r\n");
    if (!ct.empty() && content) {  // 1xx, 204, 205, 304: no content to describe
        put("Content-Type: ");
        put(ct);
        put("\r\n");
    }
    for (auto const& f : res.headers()) {
        if (iequals(f.name, "Content-Length") || iequals(f.name, "Transfer-Encoding"))
            continue;  // framing is the connection's
        if (iequals(f.name, "Connection")) [[unlikely]] {
            put_connection_options(p, f.value);
            continue;
        }
        put(f.name);
        put(": ");
        put(f.value);
        put("\r\n");
    }
    if (body_allowed) {
        if (chunked) {
            put("Transfer-Encoding: chunked\r\n");
        } else if (size) {
            put("Content-Length: ");
            p = std::to_chars(p, p + 20, *size).ptr;
            put("\r\n");
        }
    }
    if (!keep) put("Connection: close\r\n");
    else if (v.minor == 0) put("Connection: keep-alive\r\n");
    put("\r\n");
    out_.resize(static_cast<std::size_t>(p - out_.data()));
    last_head_size_ = out_.size() - begin;
    open_head_at_ = keep ? begin : npos;
    note_buffered(begin);
}

// An application's Connection field, without what is the connection's to say: whether it stays
// open (close, keep-alive) and the framing fields it writes, which an intermediary would strip as
// hop-by-hop (RFC 9110 7.6.1). Other options (Upgrade beside a 426 or a 101) go out, joined by
// "," so that they never take more room than the field did; nothing when none is left.
template <class App>
inline void connection<App>::put_connection_options(char*& p, std::string_view value) noexcept {
    bool any = false;
    for_each_list_item(value, [&](std::string_view option) {
        if (iequals(option, "close") || iequals(option, "keep-alive") || iequals(option, "Content-Length") ||
            iequals(option, "Transfer-Encoding"))
            return;
        constexpr std::string_view name = "Connection: ";
        std::string_view lead = any ? std::string_view(",") : name;
        std::memcpy(p, lead.data(), lead.size());
        p += lead.size();
        std::memcpy(p, option.data(), option.size());
        p += option.size();
        any = true;
    });
    if (any) {
        std::memcpy(p, "\r\n", 2);
        p += 2;
    }
}

// Draining: the last response queued meant to keep the connection open, but the server
// closes after it. While no byte of its head has gone out, its head says so (RFC 9112 9.6)
// and nothing more is read; once its head has started, it goes out as it is.
template <class App>
inline void connection<App>::close_after_queued() noexcept {
    if (open_head_at_ == npos || waiting_ || !in_.empty() || up_) return;
    std::size_t at = open_head_at_, i = first_unsent_;
    while (i < segments_.size() &&
           !(segments_[i].kind == segment::buffered && segments_[i].begin <= at && at < segments_[i].end))
        ++i;
    if (i == segments_.size() || (i == first_unsent_ && segments_[i].begin + front_done_ > at)) return;
    constexpr std::string_view keep_alive = "Connection: keep-alive\r\n\r\n", close = "Connection: close\r\n\r\n";
    std::string_view head(out_.data() + at, last_head_size_);
    std::size_t from = head.ends_with(keep_alive) ? head.size() - keep_alive.size() : head.size() - 2;
    std::size_t old_size = head.size() - from;
    try {
        out_.replace(at + from, old_size, close);
    } catch (...) {
        return;  // no memory for 19 bytes: it goes out as it is
    }
    auto grown = static_cast<std::ptrdiff_t>(close.size()) - static_cast<std::ptrdiff_t>(old_size);
    segments_[i].end += grown;
    for (auto j = i + 1; j < segments_.size(); ++j)
        if (segments_[j].kind == segment::buffered) {
            segments_[j].begin += grown;
            segments_[j].end += grown;
        }
    open_head_at_ = npos;
    closing_ = true;
}

template <class App>
inline void connection<App>::append_buffered(std::string_view bytes) {
    if (bytes.empty()) return;
    std::size_t begin = out_.size();
    out_.append(bytes);
    note_buffered(begin);
}

template <class App>
inline void connection<App>::note_buffered(std::size_t begin) {
    if (!segments_.empty() && segments_.back().kind == segment::buffered && segments_.back().end == begin &&
        segments_.size() > first_unsent_) {
        segments_.back().end = out_.size();
        return;
    }
    segment s;
    s.kind = segment::buffered;
    s.begin = begin;
    s.end = out_.size();
    segments_.push_back(s);
}

template <class App>
inline void connection<App>::push_view(std::string_view bytes, bool held) {
    if (bytes.empty()) {
        if (held) held_.pop_back();
        return;
    }
    segment s;
    s.kind = segment::view;
    s.bytes = bytes;
    s.last_of_held = held;
    segments_.push_back(s);
}

// Makes the stream segment's next framed piece current. A producer that throws cuts the
// body short, with no chunked terminator, and the connection closes: the truncation shows.
template <class App>
void connection<App>::materialize_stream(segment& s) {
    if (!s.bytes.empty() || s.stream_ended || s.paused) return;
    auto next = detail::pull_piece(s.producer, s.live, [this](std::string_view m) { log_error(m); });
    if (next.kind == detail::pulled::paused) {
        s.paused = true;
        // It may wait long, and each piece comes in memory of its own: keep none meanwhile.
        std::string().swap(stream_buf_);
        return;
    }
    bool failed = next.kind == detail::pulled::failed;
    std::string& piece = next.bytes;
    stream_buf_.clear();
    if (!piece.empty()) {
        if (s.chunked) {  // the size line apart, so that the piece is sent where it lies
            auto r = std::to_chars(chunk_head_.data(), chunk_head_.data() + 16, piece.size(), 16);
            *r.ptr++ = '\r';
            *r.ptr++ = '\n';
            s.chunk_head = static_cast<std::uint8_t>(r.ptr - chunk_head_.data());
            piece.append("\r\n");
        }
        stream_buf_ = std::move(piece);
    } else {
        s.stream_ended = true;
        if (s.live) s.live->finish();
        if (failed) {  // the body is cut short: the client must see the connection end
            closing_ = true;
            drop_output_after(static_cast<std::size_t>(&s - segments_.data()));
        } else if (s.chunked) {
            stream_buf_ = "0\r\n\r\n";
        }
    }
    s.bytes = stream_buf_;
}

// Responses pipelined behind a body cut short must not follow it: a client would read the
// next status line as more of the body (or as a chunk's size line). The connection's end is
// what tells it the body is incomplete (RFC 9112 section 8).
template <class App>
inline void connection<App>::drop_output_after(std::size_t i) noexcept {
    for (auto j = i + 1; j < segments_.size(); ++j) {
        if (segments_[j].kind == segment::stream && segments_[j].live)
            segments_[j].live->finish();  // its writer learns that nobody reads it
        if (segments_[j].last_of_held && !held_.empty()) held_.pop_back();
    }
    segments_.erase(segments_.begin() + static_cast<std::ptrdiff_t>(i + 1), segments_.end());
    open_head_at_ = npos;
    // Nor does anything behind it go on: a body being taken, an answer owed, an upgrade.
    abort_body();
    if (pending_) abandon_answer();
    if (up_) {
        up_->end();
        up_.reset();
    }
    ex_.upgrade.reset();
    input_cut_ = true;  // what the client sent behind it is not read
}

// The front is a stream that waits, maybe long (an event stream between events): keep
// nothing of what was written before it, neither records nor, if no other response is
// queued behind it, the buffer.
template <class App>
inline void connection<App>::shed_written_output() {
    if (first_unsent_ != 0) {
        segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(first_unsent_));
        first_unsent_ = 0;
        segments_.shrink_to_fit();
    }
    if (segments_.size() == 1 && out_.capacity() != 0) {
        std::string().swap(out_);
        open_head_at_ = npos;
    }
}

template <class App>
inline void connection<App>::finish_front() {
    auto& s = segments_[first_unsent_];
    front_done_ = 0;
    if (s.kind == segment::stream && !s.stream_ended) {
        s.bytes = {};  // made again from the producer
        s.chunk_head = 0;
        return;
    }
    if (s.last_of_held && !held_.empty()) held_.pop_front();
    ++first_unsent_;
}

// A peer that reads steadily while it keeps sending may never let the queue empty: drop
// what was written from the front of out_ and of segments_, so that they hold what is
// pending rather than everything sent since the queue was last empty.
template <class App>
inline void connection<App>::compact_output() {
    if (first_unsent_ >= compact_segments_at && first_unsent_ * 2 >= segments_.size()) {
        segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(first_unsent_));
        first_unsent_ = 0;
    }
    std::size_t live = out_.size();  // the first byte still to write
    for (std::size_t i = first_unsent_; i < segments_.size(); ++i) {
        if (segments_[i].kind == segment::buffered) {
            live = segments_[i].begin + (i == first_unsent_ ? static_cast<std::size_t>(front_done_) : 0);
            break;
        }
    }
    if (live < compact_bytes_at || live * 2 < out_.size()) return;
    out_.erase(0, live);
    open_head_at_ = open_head_at_ != npos && open_head_at_ >= live ? open_head_at_ - live : npos;
    auto& front = segments_[first_unsent_];
    if (front.kind == segment::buffered) {
        front.begin += static_cast<std::size_t>(front_done_);
        front_done_ = 0;
    }
    for (std::size_t i = first_unsent_; i < segments_.size(); ++i) {
        if (segments_[i].kind != segment::buffered) continue;
        segments_[i].begin -= live;
        segments_[i].end -= live;
    }
}

template <class App>
inline void connection<App>::reset_output() {
    segments_.clear();
    first_unsent_ = 0;
    front_done_ = 0;
    out_.clear();
    open_head_at_ = npos;
    if (out_.capacity() > kept_buffer_capacity) std::string().swap(out_);
}

template <class App>
inline bool connection<App>::output_over_limit() const noexcept {
    // out_ holds at least what is pending: with the records and nothing held under the
    // limit, as after most requests, the precise count is not needed.
    if (held_.empty() &&
        out_.size() + (segments_.size() - first_unsent_) * sizeof(segment) <= config_.max_output_buffered)
        return false;
    // An open file waits: the next request is read once it is sent, so a connection holds one
    // file's descriptor at most (pipelined requests for files must not fill the descriptor
    // table, engine_shared.hpp).
    for (auto const& b : held_)
        if (std::holds_alternative<file_body>(b)) return true;
    return buffered_output() > config_.max_output_buffered;
}

// Output waiting to be written, as backpressure counts it: buffered bytes not yet written,
// and held responses (their files and streams a little, string bodies whole: a peer that
// pipelines requests for large generated bodies must not make the connection hold many).
template <class App>
inline std::size_t connection<App>::buffered_output() const noexcept {
    std::size_t n = 0;
    for (std::size_t i = first_unsent_; i < segments_.size(); ++i)
        if (segments_[i].kind == segment::buffered) n += segments_[i].end - segments_[i].begin;
    if (first_unsent_ < segments_.size() && segments_[first_unsent_].kind == segment::buffered)
        n -= static_cast<std::size_t>(front_done_);
    for (auto const& b : held_)
        n += held_response_cost + (std::holds_alternative<std::string>(b) ? response::body_view(b).size() : 0);
    return n + (segments_.size() - first_unsent_) * sizeof(segment);  // many small responses cost their records
}

}  // namespace porthole

// A stand-in with porthole::connection's driver interface: answers every request head
// ("\r\n\r\n"-terminated, no bodies) with a fixed 200, closing after "Connection: close".
#pragma once

#include <cstdint>
#include <ctime>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stub {

enum class connection_phase : std::uint8_t { idle, reading_headers, reading_body, writing, closed };

struct output_chunk {
    std::string_view memory;
    int file_fd = -1;
    std::uint64_t file_offset = 0;
    std::uint64_t file_length = 0;
};

struct config {};
struct app {};

class date_source {
public:
    void update(std::time_t now) { last = now; }
    std::time_t last = 0;
};

class connection {
public:
    connection(app&, config const&, date_source*) {}

    std::span<char> read_buffer() {
        if (!wants_read()) return {};
        if (in_.size() - used_ < 4096) in_.resize(used_ + 4096);
        return {in_.data() + used_, in_.size() - used_};
    }
    void commit(std::size_t n) {
        used_ += n;
        std::string_view all(in_.data(), used_);
        std::size_t start = 0;
        for (;;) {
            auto end = all.find("\r\n\r\n", start);
            if (end == std::string_view::npos) break;
            std::string_view head = all.substr(start, end - start);
            bool close = head.find("Connection: close") != std::string_view::npos;
            out_ += close ? close_reply : ok_reply;
            ++served_;
            start = end + 4;
            if (close) {
                closing_ = true;
                break;
            }
        }
        in_.erase(0, start);
        used_ -= start;
        if (closing_) used_ = 0;
        refresh();
    }
    void read_eof() { eof_ = true; }
    std::span<output_chunk const> pending_output() { return {chunk_, out_.size() > sent_ ? 1u : 0u}; }
    void consumed(std::size_t n) {
        sent_ += n;
        if (sent_ == out_.size()) {
            out_.clear();
            sent_ = 0;
        }
        refresh();
    }
    bool wants_read() const noexcept { return !closing_ && !eof_ && out_.size() - sent_ < 256 * 1024; }
    bool should_close() const noexcept { return closing_ || eof_; }
    connection_phase phase() const noexcept {
        if (out_.size() > sent_) return connection_phase::writing;
        if (should_close()) return connection_phase::closed;
        return used_ ? connection_phase::reading_headers : connection_phase::idle;
    }
    void set_peer(std::string_view p) { peer = p; }
    std::size_t requests_served() const noexcept { return served_; }
    void timeout() { closing_ = true; used_ = 0; out_ += timeout_reply; refresh(); }

    std::string peer;
    static constexpr std::string_view ok_reply =
        "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!";
    static constexpr std::string_view close_reply =
        "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nConnection: close\r\n\r\nHello, World!";
    static constexpr std::string_view timeout_reply =
        "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

private:
    void refresh() { chunk_[0].memory = std::string_view(out_).substr(sent_); }
    std::string in_;
    std::size_t used_ = 0;
    std::string out_;
    std::size_t sent_ = 0;
    output_chunk chunk_[1];
    std::size_t served_ = 0;
    bool closing_ = false;
    bool eof_ = false;
};

}  // namespace stub

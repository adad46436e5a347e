// porthole/testing.hpp: drive an application through a real connection without sockets. Send raw
// bytes (split as you like) or a simple request, get the parsed responses back.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/chunked.hpp>
#include <porthole/connection.hpp>
#include <porthole/detail/decimal.hpp>
#include <porthole/http.hpp>
#include <porthole/mailbox.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace porthole::testing {

struct parsed_response {
    unsigned status = 0;
    std::string reason;
    std::vector<std::pair<std::string, std::string>> headers{};
    std::string body{};
    bool complete = false;  // the whole body arrived

    // The value of the first field `name`, or nullopt when the response has none.
    std::optional<std::string_view> header(std::string_view name) const noexcept {
        for (auto const& [k, v] : headers)
            if (iequals(k, name)) return std::string_view(v);
        return std::nullopt;
    }
    std::size_t count_header(std::string_view name) const noexcept {
        std::size_t n = 0;
        for (auto const& [k, v] : headers) n += iequals(k, name);
        return n;
    }
};

// Splits a byte stream from a server into responses. `head_requests` says, for each final
// response in order, whether it answers a HEAD (whose Content-Length announces no body).
inline std::vector<parsed_response> parse_responses(std::string_view raw, std::vector<bool> const& head_requests = {}) {
    std::vector<parsed_response> out;
    std::size_t finals = 0;
    std::string decoded_body;  // one buffer for every chunked body of the stream
    while (!raw.empty()) {
        auto end = raw.find("\r\n\r\n");
        if (raw.substr(0, 5) != "HTTP/" || end == std::string_view::npos) break;
        parsed_response r;
        auto head = raw.substr(0, end);
        auto line_end = head.find("\r\n");
        auto status_line = head.substr(0, line_end);
        std::uint64_t code = 0;
        detail::parse_decimal(status_line.substr(9, 3), code);
        r.status = static_cast<unsigned>(code);
        r.reason = std::string(status_line.size() > 13 ? status_line.substr(13) : std::string_view{});
        auto rest = line_end == std::string_view::npos ? std::string_view{} : head.substr(line_end + 2);
        while (!rest.empty()) {
            auto e = rest.find("\r\n");
            auto line = rest.substr(0, e);
            auto colon = line.find(':');
            if (colon != std::string_view::npos)
                r.headers.emplace_back(std::string(line.substr(0, colon)),
                                       std::string(detail::trim_ows(line.substr(colon + 1))));
            if (e == std::string_view::npos) break;
            rest.remove_prefix(e + 2);
        }
        raw.remove_prefix(end + 4);
        bool interim = r.status >= 100 && r.status < 200;
        bool head_only = !interim && finals < head_requests.size() && head_requests[finals];
        if (!interim) ++finals;
        if (interim || head_only || r.status == 204 || r.status == 304) {
            r.complete = true;
        } else if (list_contains(r.header("Transfer-Encoding").value_or(""), "chunked")) {
            // The decoder the server reads requests with, with no body limit (its framing limits
            // stay: porthole's output is far inside them). Broken framing ends the parse here.
            chunked_decoder decoder;
            decoder.set_max_body(UINT64_MAX);
            if (decoded_body.size() < raw.size()) decoded_body.resize(raw.size());  // data <= its coding
            auto decoded = decoder.decode(raw.data(), raw.size(), decoded_body.data());
            r.body.assign(decoded_body.data(), decoded.produced);
            r.complete = decoded.status == parse_status::complete;
            raw.remove_prefix(decoded.status == parse_status::error ? raw.size() : decoded.consumed);
        } else if (auto length = r.header("Content-Length")) {
            std::uint64_t n = UINT64_MAX;  // unreadable: never complete, rather than empty
            detail::parse_decimal(*length, n);
            r.complete = raw.size() >= n;
            r.body = std::string(raw.substr(0, std::min<std::size_t>(n, raw.size())));
            raw.remove_prefix(r.body.size());
        } else {
            r.body = std::string(raw);
            raw = {};
            r.complete = true;
        }
        out.push_back(std::move(r));
    }
    return out;
}

// `within` from now, or the clock's end for a wait longer than it can count.
inline std::chrono::steady_clock::time_point deadline_after(std::chrono::milliseconds within) {
    auto const now = std::chrono::steady_clock::now(), end = std::chrono::steady_clock::time_point::max();
    if (within > std::chrono::duration_cast<std::chrono::milliseconds>(end - now)) return end;  // in ms: no overflow
    return now + within;
}

// The date_source tests share, refreshed from the clock on use.
inline date_source const* test_date() {
    static date_source d;
    d.update(std::time(nullptr));
    return &d;
}

// A connection with an in-memory peer: what it writes collects in output(). What other threads
// hand the connection (a responder's answer, a live stream's data) waits in the client's
// mailbox until step() or wait() delivers it, on the test's thread, as a server's loop would.
template <class App>
class client {
public:
    explicit client(App& app, connection_config config = {})
        : config_(std::move(config)), conn_(app, config_, test_date()) {
        conn_.attach(box_, this);
    }
    ~client() { box_->close(); }
    client(client const&) = delete;
    client& operator=(client const&) = delete;

    // Delivers what other threads handed over, and collects the output. Returns how many
    // deliveries there were.
    std::size_t step() {
        {
            std::lock_guard lock(posted_->mutex);
            posted_->any = false;  // what run() now takes, a wait() need not wait for
        }
        std::size_t n = box_->run([](void*) {});
        drain();
        return n;
    }
    // Waits up to `within` for another thread to hand the connection something, then delivers
    // it as step() does: the test's thread sleeping as a server's loop does between wake-ups.
    // Returns the deliveries; 0 when nothing came in time.
    std::size_t wait(std::chrono::milliseconds within) {
        auto const deadline = deadline_after(within);
        for (;;) {
            {
                std::unique_lock lock(posted_->mutex);
                if (!posted_->arrived.wait_until(lock, deadline, [&] { return posted_->any; })) return 0;
            }
            // A word posted while step() ran is taken by it but leaves `any` set: look again.
            if (std::size_t n = step()) return n;
        }
    }
    // A server stopping: see connection::drain().
    client& stop() {
        conn_.drain();
        drain();
        return *this;
    }
    // The driver's timeout for the connection's phase fired (for a later answer: the response
    // timeout).
    client& time_out() {
        conn_.timeout();
        drain();
        return *this;
    }

    // Feeds bytes and collects everything the connection writes in response.
    client& send(std::string_view bytes) {
        if (cut_) return *this;  // a closed connection reads nothing more
        conn_.feed(bytes);
        drain();
        return *this;
    }
    // Feeds the bytes cut at the given offsets, one piece at a time.
    client& send_split(std::string_view bytes, std::vector<std::size_t> const& cuts) {
        std::size_t from = 0;
        for (auto to : cuts) {
            send(bytes.substr(from, to - from));
            from = to;
        }
        return send(bytes.substr(from));
    }
    client& close_input() {
        if (cut_) return *this;
        conn_.read_eof();
        drain();
        return *this;
    }

    std::string const& output() const noexcept { return out_; }
    // The output parsed again at each call, kept in the client: the vector and references into
    // it stay valid while the client lives and until the next call (`auto const& r =
    // c.responses().at(0);` does not dangle). One thread at a time, as every call here.
    std::vector<parsed_response> const& responses(std::vector<bool> const& head_requests = {}) const {
        parsed_ = parse_responses(out_, head_requests);
        return parsed_;
    }
    // The connection ended: by its own choice, or by this driver where a file ended before its
    // length, after which send() and close_input() are ignored (the event loop would also
    // destroy the connection, telling a later answer's responder; here it stays until the
    // client goes).
    bool closed() const noexcept { return cut_ || (conn_.should_close() && !conn_.has_output()); }
    connection<App>& conn() noexcept { return conn_; }

private:
    void drain() {
        while (!cut_) {
            auto chunks = conn_.pending_output();
            if (chunks.empty()) return;
            std::size_t n = 0;
            for (auto const& c : chunks) {
                if (c.file_fd < 0) {
                    out_.append(c.memory);
                } else if (!detail::pass_file_chunk(c.file_fd, c.file_offset, c.file_length,
                                                    [&](std::string_view bytes) { out_.append(bytes); })) {
                    cut_ = true;  // closed, as the event loop does
                    return;
                }
                n += static_cast<std::size_t>(c.size());
            }
            conn_.written(n);
        }
    }

    // The mailbox's wake-up: it runs in the posting thread, under the mailbox's lock (so the
    // order is the mailbox's lock, then posted::mutex; never the reverse), and may outlive the
    // client (shared). Declared before box_, whose initializer captures it.
    struct posted {
        std::mutex mutex;
        std::condition_variable arrived;
        bool any = false;
    };
    std::shared_ptr<posted> posted_ = std::make_shared<posted>();
    std::shared_ptr<mailbox> box_ = std::make_shared<mailbox>([p = posted_] {
        {
            std::lock_guard lock(p->mutex);
            p->any = true;
        }
        p->arrived.notify_one();
    });
    connection_config config_;  // the connection refers to it
    connection<App> conn_;
    std::string out_;
    bool cut_ = false;                             // closed by this driver: a file ended before its length
    mutable std::vector<parsed_response> parsed_;  // what responses() returned last
};

// A request described in a few words, serialized as a client would send it.
struct simple_request {
    porthole::method method = porthole::method::get;
    std::string target = "/";
    std::vector<std::pair<std::string, std::string>> headers{};
    std::string body{};

    std::string serialize() const {
        std::string s(to_string(method));
        s += ' ';
        s += target;
        s += " HTTP/1.1\r\nHost: test\r\n";
        for (auto const& [k, v] : headers) {
            s += k;
            s += ": ";
            s += v;
            s += "\r\n";
        }
        if (!body.empty() || method == porthole::method::post || method == porthole::method::put)
            s += "Content-Length: " + std::to_string(body.size()) + "\r\n";
        s += "\r\n";
        s += body;
        return s;
    }
};

// One request through a fresh connection; the single response it got. A handler that answers
// later (a responder, docs/later.md) is waited for up to `answer_within`, then the connection
// answers 503, as a server's does when its response_timeout passes. Of a live stream, what has
// arrived when its head has: follow the rest with a client's wait().
template <detail::fits_application App>
parsed_response send(App& app, simple_request const& req, connection_config const& config = {},
                     std::chrono::milliseconds answer_within = std::chrono::seconds(10)) {
    client<App> c(app, config);
    c.send(req.serialize());
    auto const deadline = deadline_after(answer_within);
    while (c.conn().phase() == connection_phase::awaiting_answer) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left <= std::chrono::milliseconds::zero()) {
            c.time_out();  // the response timeout firing
            break;
        }
        c.wait(left);
    }
    auto rs = c.responses({req.method == porthole::method::head});
    while (!rs.empty() && rs.front().status < 200) rs.erase(rs.begin());
    return rs.empty() ? parsed_response{} : rs.front();
}
template <detail::fits_application App>
parsed_response get(App& app, std::string target) {
    return send(app, simple_request{method::get, std::move(target), {}, {}});
}

}  // namespace porthole::testing

// porthole/access_log.hpp: one line per answered request. The entry a log function receives,
// a writer of Common Log Format lines, and the access log as a layer.
//
// Two places to hook a log function: server_options::access_log (the connection calls it for every
// answer it sends, protocol errors and timeouts included) and the access_log layer (called for
// what the application and the layers inside it answered, placed where the layers list puts it).
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/auth.hpp>
#include <porthole/http_date.hpp>
#include <porthole/layer.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace porthole {

// What an access log line needs; views are valid during the callback only. An answer to input
// that was not a request (a malformed head, a timeout while the head came) has "-" for method
// and target; a request's target is never "-", though its method may be. The entry is written when the answer is
// queued: a streamed body's size is not known then (body_size_known false, body_bytes 0).
struct access_entry {
    std::string_view peer{}, method{}, target{};  // peer: "address:port", "[v6]:port" or a socket path
    porthole::version version{};
    porthole::status status{};
    std::uint64_t body_bytes{};   // the body's bytes as sent (compressed when compressed); 0 for HEAD
    bool body_size_known = true;  // false for a streamed body (a stream, a large file compressed on the way)
    // The user-id of the request's Basic credentials (RFC 7617), whether or not they were
    // accepted, as nginx's $remote_user; empty when it has none, and always in the connection's
    // entries (the access_log layer fills it).
    std::string_view user{};
};

using access_log_function = std::function<void(access_entry const&)>;

// An access log writing Common Log Format lines to `out`, e.g.
//   127.0.0.1 - alice [24/Nov/2026:10:54:26 +0000] "GET / HTTP/1.1" 200 13
// with "-" for no user and for the size of a streamed body, as the format writes what it does
// not know. Each line is one fwrite, so lines from several threads do not interleave.
inline access_log_function common_log(std::FILE* out) {
    return [out](access_entry const& e) {
        auto secs = static_cast<std::int64_t>(std::time(nullptr));
        std::int64_t days = detail::floor_div(secs, 86400);
        auto in_day = static_cast<unsigned>(secs - days * 86400);
        auto date = detail::civil_from_days(days);
        std::string_view host = e.peer;
        if (auto colon = host.rfind(':'); colon != std::string_view::npos) host = host.substr(0, colon);
        if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
        if (host.empty()) host = "-";
        // A byte nginx escapes in its log (a control, '"', '\\', or from 0x7F up: an 8-bit CSI,
        // a bidi override's bytes) is written as it does, \xHH, and so is a space in a user-id,
        // so that a log reader finds the line's fields and a terminal shows what was sent. Only a
        // field that needs it allocates. Each field is cut to its share of the line as written,
        // escapes counted, so that the status and the size always end it.
        std::string escaped_target, escaped_user;
        auto escaped = [](std::string_view text, bool space, std::size_t most, std::string& storage) {
            auto special = [space](char c) {
                auto b = static_cast<unsigned char>(c);
                return b < 0x20 || b >= 0x7f || c == '"' || c == '\\' || (space && c == ' ');
            };
            text = text.substr(0, most);
            if (std::none_of(text.begin(), text.end(), special)) return text;
            for (char c : text) {
                bool plain = !special(c);
                if (storage.size() + (plain ? 1 : 4) > most) break;
                if (plain) {
                    storage += c;
                    continue;
                }
                constexpr char hex[] = "0123456789ABCDEF";
                auto b = static_cast<unsigned char>(c);
                storage.append({'\\', 'x', hex[b >> 4], hex[b & 15]});
            }
            return std::string_view(storage);
        };
        std::string_view target = escaped(e.target, false, 1024, escaped_target);
        std::string_view user = e.user.empty() ? std::string_view("-") : escaped(e.user, true, 256, escaped_user);
        host = host.substr(0, 256);                        // a Unix socket's path at most 108
        std::string_view method = e.method.substr(0, 64);  // a token: nothing to escape
        char size[24] = "-";
        if (e.body_size_known) std::snprintf(size, sizeof size, "%llu", static_cast<unsigned long long>(e.body_bytes));
        char line[2048];
        int n = std::snprintf(
            line, sizeof line, "%.*s - %.*s [%02u/%s/%04lld:%02u:%02u:%02u +0000] \"%.*s %.*s HTTP/%u.%u\" %u %s\n",
            static_cast<int>(host.size()), host.data(), static_cast<int>(user.size()), user.data(), date.day,
            detail::month_names[date.month - 1], static_cast<long long>(date.year), in_day / 3600, in_day / 60 % 60,
            in_day % 60, static_cast<int>(method.size()), method.data(), static_cast<int>(target.size()), target.data(),
            unsigned{e.version.major}, unsigned{e.version.minor}, to_int(e.status), size);
        if (n <= 0 || static_cast<std::size_t>(n) >= sizeof line) return;  // cannot be: the fields are cut
        std::fwrite(line, 1, static_cast<std::size_t>(n), out);
    };
}

// The access log as a layer: `write` gets one entry per response that passes this layer on its
// way out, with the status and body size as they are there (outermost: what goes on the wire,
// compressed or not; a streamed body's size is not known, a HEAD answer's is 0).
//   porthole::layers{porthole::access_log(porthole::common_log(stderr)), ...}(app)
class access_log {
public:
    explicit access_log(access_log_function write) : write_(std::move(write)) {}

    // The request's parts, copied: the entry may be written after the request is gone.
    struct state {
        std::string text;  // peer, method, target and user-id, one after the other
        std::uint32_t peer_size = 0, method_size = 0, target_size = 0;
        porthole::version version{};
        bool head = false;
    };

    layer_result<state> before(request const& req) const {
        state s;
        auto peer = req.peer(), method = req.method_name(), target = req.target();
        auto credentials = basic_credentials_of(req);
        std::string_view user = credentials ? std::string_view(credentials->user_id) : std::string_view();
        s.text.reserve(peer.size() + method.size() + target.size() + user.size());
        s.text.append(peer).append(method).append(target).append(user);
        s.peer_size = static_cast<std::uint32_t>(peer.size());
        s.method_size = static_cast<std::uint32_t>(method.size());
        s.target_size = static_cast<std::uint32_t>(target.size());
        s.version = req.version();
        s.head = req.method() == method::head;
        return s;
    }

    void after(state& s, response& res) const {
        if (!write_) return;
        std::string_view text = s.text;
        bool no_body = s.head || !status_allows_content(res.status());
        auto size = no_body ? std::optional<std::uint64_t>(0) : res.body_size();
        auto user_at = std::size_t{s.peer_size} + s.method_size + s.target_size;
        write_(access_entry{text.substr(0, s.peer_size), text.substr(s.peer_size, s.method_size),
                            text.substr(s.peer_size + s.method_size, s.target_size), s.version, res.status(),
                            size.value_or(0), size.has_value(), text.substr(user_at)});
    }

private:
    access_log_function write_;
};

}  // namespace porthole

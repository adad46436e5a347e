// porthole/websocket_handshake.hpp: the server's side of the WebSocket opening handshake
// (RFC 6455 4.2): checking the client's upgrade request, the Origin policy, choosing a
// subprotocol and extensions, and the 101 response with its Sec-WebSocket-Accept.
//
// accept_handshake() takes a request and gives a response: a 101 to send before the connection
// speaks WebSocket, or the error to send instead (400, 403, 405, 426), as plain HTTP.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/base64.hpp>
#include <porthole/detail/sha1.hpp>
#include <porthole/request.hpp>
#include <porthole/response.hpp>
#include <porthole/websocket_deflate.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace porthole::ws {

// The value of Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64 of the SHA-1 of the key
// followed by the protocol's GUID (RFC 6455 4.2.2, step 5.4).
inline std::string accept_key(std::string_view key) {
    auto digest = porthole::detail::sha1().update(key).update("258EAFA5-E914-47DA-95CA-C5AB0DC85B11").finish();
    return base64::encode({reinterpret_cast<char const*>(digest.data()), digest.size()});
}

// ---------------------------------------------------------------- the Origin policy

// Which web pages may open a WebSocket to this server. A browser sends the page's origin in the
// Origin header of every WebSocket request and lets any page connect anywhere (RFC 6455 10.2):
// without a check, any site the user visits could drive a status page on loopback. Requests
// without Origin come from programs, not from pages, and are always let through.
class origin_policy {
public:
    // The default: only pages served by this same host and port (Origin matches Host, or the
    // authority of an absolute-form target).
    static origin_policy same_origin() { return origin_policy(kind::same_origin, {}, {}); }
    // Any page may connect: for public APIs meant to be used from other sites.
    static origin_policy any() { return origin_policy(kind::any, {}, {}); }
    // Pages of these origins ("https://example.com", "http://localhost:8080"; compared without
    // regard to case), and of the same origin.
    static origin_policy allow(std::vector<std::string> origins) {
        return origin_policy(kind::listed, std::move(origins), {});
    }
    // The application decides, from the Origin value and the request.
    static origin_policy check(std::function<bool(std::string_view origin, request const&)> f) {
        return origin_policy(kind::custom, {}, std::move(f));
    }

    bool allows(request const& req) const {
        header_field const* origin_field = nullptr;
        for (auto const& f : req.headers())
            if (iequals(f.name, "Origin")) {
                // A browser sends one (RFC 6454 7); with two, which page asks is unknown.
                if (origin_field) return kind_ == kind::any;
                origin_field = &f;
            }
        if (!origin_field) return true;
        auto origin = origin_field->value;
        switch (kind_) {
            case kind::any: return true;
            case kind::custom: return check_(origin, req);
            case kind::listed:
                for (auto const& o : listed_)
                    if (iequals(o, origin)) return true;
                [[fallthrough]];
            case kind::same_origin: break;
        }
        // An absolute-form target's scheme and authority override Host (RFC 9112 3.2.2).
        if (auto absolute = porthole::detail::split_absolute_form(req.target()))
            return is_same_origin(origin, absolute->authority, absolute->scheme);
        return is_same_origin(origin, req.header("Host").value_or(""));
    }

    // True when the serialized origin `origin` ("scheme://host[:port]", RFC 6454 6.2) names the
    // authority in `host` (a Host header value, or an absolute-form target's authority, whose
    // `scheme` the origin's must then be). A port left out is its scheme's default, on both sides
    // (RFC 6454 4): a Host without one matches an origin on port 80 (http) or 443 (https) only,
    // whichever scheme the connection used (a proxy may have ended TLS).
    static bool is_same_origin(std::string_view origin, std::string_view host,
                               std::string_view scheme_of_host = {}) noexcept {
        std::string_view default_port;
        auto sep = origin.find("://");
        if (sep == std::string_view::npos) return false;  // "null" and other opaque origins
        auto scheme = origin.substr(0, sep);
        if (!scheme_of_host.empty() && !iequals(scheme, scheme_of_host)) return false;
        if (iequals(scheme, "http")) default_port = "80";
        else if (iequals(scheme, "https")) default_port = "443";
        else return false;
        std::string_view o_host, o_port, h_host, h_port;
        if (!split_authority(origin.substr(sep + 3), o_host, o_port) || !split_authority(host, h_host, h_port))
            return false;
        if (o_port.empty()) o_port = default_port;
        if (h_port.empty()) h_port = default_port;
        return !o_host.empty() && iequals(o_host, h_host) && o_port == h_port;
    }

private:
    enum class kind : std::uint8_t { same_origin, any, listed, custom };
    origin_policy(kind k, std::vector<std::string> listed, std::function<bool(std::string_view, request const&)> f)
        : kind_(k), listed_(std::move(listed)), check_(std::move(f)) {}

    // "host", "host:port", "[v6]" or "[v6]:port"; nothing else (no path, no user info).
    static bool split_authority(std::string_view a, std::string_view& host, std::string_view& port) noexcept {
        std::size_t host_end;
        if (!a.empty() && a[0] == '[') {
            host_end = a.find(']');
            if (host_end == std::string_view::npos) return false;
            ++host_end;
        } else {
            host_end = a.find(':');
            if (host_end == std::string_view::npos) host_end = a.size();
        }
        host = a.substr(0, host_end);
        if (host_end == a.size()) {
            port = {};
        } else {
            if (a[host_end] != ':') return false;
            port = a.substr(host_end + 1);
            if (port.empty()) return false;
            for (char c : port)
                if (c < '0' || c > '9') return false;
        }
        for (char c : host)
            if (c == '/' || c == '@' || c == '?' || c == '#' || c == ' ') return false;
        return true;
    }

    kind kind_;
    std::vector<std::string> listed_;
    std::function<bool(std::string_view, request const&)> check_;
};

// ---------------------------------------------------------------- the handshake

struct handshake_options {
    // Subprotocols the server speaks. The first one in the client's Sec-WebSocket-Protocol list
    // (its order of preference) that is also here is chosen; none chosen when nothing matches,
    // and the client decides whether to go on without one (RFC 6455 4.2.2, step 5.4).
    std::vector<std::string> subprotocols{};
    origin_policy origin = origin_policy::same_origin();
    deflate_options deflate{};  // permessage-deflate: off unless enabled (and built with zlib)
};

// The verdict on one upgrade request.
struct handshake {
    porthole::response response;            // the 101 to send, or the error response
    std::string subprotocol;                // the one chosen, or empty
    std::optional<deflate_params> deflate;  // permessage-deflate as agreed, or none

    bool accepted() const noexcept { return response.status() == status::switching_protocols; }
};

// True when the request asks to switch to WebSocket: `Upgrade` lists "websocket", in HTTP/1.1
// (RFC 9110 7.8: Upgrade in an HTTP/1.0 request is ignored).
inline bool is_upgrade_request(request const& req) noexcept {
    if (req.version() == http_1_0) return false;
    bool found = false;
    for (auto const& f : req.headers())
        if (iequals(f.name, "Upgrade") && list_contains(f.value, "websocket")) found = true;
    return found;
}

namespace detail {
inline handshake refuse(status s) {
    handshake h;
    h.response = response::error(s);
    if (s == status::upgrade_required) {  // RFC 9110 15.5.22, RFC 6455 4.2.2
        h.response.set_header("Upgrade", "websocket");
        h.response.set_header("Connection", "Upgrade");
        h.response.set_header("Sec-WebSocket-Version", "13");
    } else if (s == status::method_not_allowed) {
        h.response.set_header("Allow", "GET");
    }
    return h;
}
}  // namespace detail

// Checks an upgrade request against RFC 6455 4.2.1 and answers it (4.2.2):
//   426 + Upgrade + Sec-WebSocket-Version: 13  not an upgrade to WebSocket in HTTP/1.1, a HEAD
//                                              (answered as the GET it stands for, whose Upgrade
//                                              it cannot carry: RFC 9110 9.3.2), or
//                                              Sec-WebSocket-Version missing or other than 13
//   405 + Allow: GET                           a method other than GET and HEAD
//   400                                        Connection without "upgrade", Sec-WebSocket-Key
//                                              missing, repeated or not 16 bytes in base64, a
//                                              request body, an invalid subprotocol list
//   403                                        the Origin policy refuses the page
//   101                                        otherwise, with Sec-WebSocket-Accept, the chosen
//                                              subprotocol and permessage-deflate if agreed
inline handshake accept_handshake(request const& req, handshake_options const& options = {}) {
    using detail::refuse;
    if (!is_upgrade_request(req) || req.method() == method::head) return refuse(status::upgrade_required);
    if (req.method() != method::get) return refuse(status::method_not_allowed);

    bool connection_upgrade = false;
    for (auto const& f : req.headers())
        if (iequals(f.name, "Connection") && list_contains(f.value, "upgrade")) connection_upgrade = true;
    if (!connection_upgrade) return refuse(status::bad_request);

    // Each on one line: two are not one value (RFC 9110 5.3).
    if (porthole::detail::single_value(req, "Sec-WebSocket-Version") != "13") return refuse(status::upgrade_required);

    auto key = porthole::detail::single_value(req, "Sec-WebSocket-Key");
    std::string nonce;
    if (!key || key->size() != 24 || !base64::decode(*key, nonce) || nonce.size() != 16)
        return refuse(status::bad_request);

    // The bytes after the head belong to WebSocket: a body would blur where they begin.
    if (!req.body().empty() || req.header("Transfer-Encoding")) return refuse(status::bad_request);

    if (!options.origin.allows(req)) return refuse(status::forbidden);

    handshake h;
    bool protocols_ok = true;
    for (auto const& f : req.headers()) {
        if (!iequals(f.name, "Sec-WebSocket-Protocol")) continue;
        bool empty = true;
        for_each_list_item(f.value, [&](std::string_view item) {
            empty = false;
            if (!porthole::detail::is_token(item)) protocols_ok = false;
            if (!h.subprotocol.empty()) return;
            for (auto const& mine : options.subprotocols)
                if (mine == item) h.subprotocol = mine;
        });
        if (empty) protocols_ok = false;
    }
    if (!protocols_ok) return refuse(status::bad_request);

    for (auto const& f : req.headers()) {
        if (h.deflate) break;
        if (iequals(f.name, "Sec-WebSocket-Extensions")) h.deflate = choose_deflate(f.value, options.deflate);
    }

    h.response = response(status::switching_protocols);
    h.response.set_header("Upgrade", "websocket");
    h.response.set_header("Connection", "Upgrade");
    h.response.set_header("Sec-WebSocket-Accept", accept_key(*key));
    if (!h.subprotocol.empty()) h.response.set_header("Sec-WebSocket-Protocol", h.subprotocol);
    if (h.deflate) h.response.set_header("Sec-WebSocket-Extensions", deflate_response(*h.deflate));
    return h;
}

}  // namespace porthole::ws

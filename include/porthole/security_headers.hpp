// porthole/security_headers.hpp: the response header fields that make browsers treat a page
// more safely, as a layer. Each has a default, can be changed or turned off (an empty value),
// and is left alone on a response that already sets it: a handler overrides it per response.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/detail/compiled_once.hpp>
#include <porthole/layer.hpp>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace porthole {

struct security_headers_options {
    // No MIME sniffing: a text file is never run as a script.
    std::string content_type_options = "nosniff";
    // Scripts, styles, images and requests from this origin only, no plugins, no framing.
    // A page with inline <script> or style="" needs its own policy (or hashes).
    std::string content_security_policy =
        "default-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";
    // Other sites learn nothing of this one's URLs (which may carry tokens).
    std::string referrer_policy = "no-referrer";
    // Never inside a frame of another page (clickjacking); frame-ancestors says it for new browsers.
    std::string frame_options = "DENY";
    // A page opened from this one cannot reach back through window.opener, and the reverse.
    std::string cross_origin_opener_policy = "same-origin";
    // "max-age=31536000" tells browsers to use https from now on. Sent on answers to requests
    // that came over TLS only (RFC 6797 7.2: never over plain HTTP; behind a proxy that ends
    // TLS, the proxy adds it). Off by default.
    std::string strict_transport_security{};
    // Any other fields, sent the same way.
    std::vector<std::pair<std::string, std::string>> extra{};
};

class security_headers {
public:
    // Throws std::invalid_argument for a field no response can carry (a name not a token, a
    // value with a control character).
    explicit security_headers(security_headers_options o = {});

    // Keeps whether the request came over TLS, for Strict-Transport-Security.
    layer_result<bool> before(request const& req) const { return req.secure(); }
    void after(bool& secure, response& res) const {
        for (std::size_t i = 0; i < fields_.size(); ++i) {
            if (i == hsts_at_ && !secure) continue;
            auto const& [name, value] = fields_[i];
            if (!res.header(name)) res.add_header(name, value);  // the handler's own, even empty, wins
        }
    }

private:
    std::vector<std::pair<std::string, std::string>> fields_;
    std::size_t hsts_at_ = static_cast<std::size_t>(-1);  // Strict-Transport-Security's place, if any
};

}  // namespace porthole

// The bodies: in every file, or once (detail/compiled_once.hpp).
#if PORTHOLE_DETAIL_DEFINE_HERE
namespace porthole {

PORTHOLE_DETAIL_INLINE security_headers::security_headers(security_headers_options o) {
    auto add = [&](char const* name, std::string& value) {
        if (!value.empty()) fields_.emplace_back(name, std::move(value));
    };
    add("X-Content-Type-Options", o.content_type_options);
    add("Content-Security-Policy", o.content_security_policy);
    add("Referrer-Policy", o.referrer_policy);
    add("X-Frame-Options", o.frame_options);
    add("Cross-Origin-Opener-Policy", o.cross_origin_opener_policy);
    if (!o.strict_transport_security.empty()) hsts_at_ = fields_.size();
    add("Strict-Transport-Security", o.strict_transport_security);
    for (auto& [name, value] : o.extra)
        if (!value.empty()) fields_.emplace_back(std::move(name), std::move(value));
    for (auto const& [name, value] : fields_) detail::require_sendable("porthole::security_headers", name, value);
}

}  // namespace porthole
#endif

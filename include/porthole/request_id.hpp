// porthole/request_id.hpp: a request id as a layer. Each request gets an id, taken from the
// incoming X-Request-Id when it is a sensible one (a proxy in front made it) or generated here;
// the application sees it as req.header("X-Request-Id") either way, and the response carries it.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/layer.hpp>
#include <porthole/random.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace porthole {

struct request_id_options {
    std::string header = "X-Request-Id";
    // Keep an incoming id of 1 to max_length characters from [A-Za-z0-9._:+/=-]; any other is
    // replaced. Off: always generate (when clients are not to be trusted with the logs).
    bool trust_incoming = true;
    std::size_t max_length = 128;
};

class request_id {
public:
    // Throws std::invalid_argument for a header name that is not a token.
    explicit request_id(request_id_options o = {}) : opts_(std::move(o)) {
        detail::require_sendable("porthole::request_id", opts_.header);
    }

    struct state {
        std::string id;
        std::vector<header_field> fields;  // the request's own and the id, when generated
    };

    layer_result<state> before(request const& req) const {
        state s;
        auto incoming = req.header(opts_.header);
        if (opts_.trust_incoming && incoming && acceptable(*incoming)) s.id.assign(*incoming);
        else s.id = generate();
        return s;
    }

    // When the id was made here, the application sees it as a header field too; either way it
    // sees that one line alone (a second, unchecked line is dropped).
    request rewrite(state& s, request const& req) const {
        if (opts_.trust_incoming && req.header(opts_.header) == s.id) {
            auto lines = std::count_if(req.headers().begin(), req.headers().end(),
                                       [&](header_field const& f) { return iequals(f.name, opts_.header); });
            if (lines == 1) return req;
        }
        s.fields.reserve(req.headers().size() + 1);
        for (auto const& f : req.headers())
            if (!iequals(f.name, opts_.header)) s.fields.push_back(f);
        s.fields.push_back({opts_.header, s.id});
        return req.with_headers(s.fields);
    }

    void after(state& s, response& res) const { res.set_header(opts_.header, s.id); }

    // 32 hexadecimal digits (128 bits) from a generator seeded once per thread from the system:
    // unique in practice, not secret (splitmix64 can be run forward from one id).
    static std::string generate() {
        thread_local std::uint64_t seed = [] {
            unsigned char b[8];
            random_bytes(b);
            std::uint64_t v = 0;
            for (unsigned char c : b) v = v << 8 | c;
            return v;
        }();
        auto next = [] {  // splitmix64
            std::uint64_t z = (seed += 0x9e3779b97f4a7c15u);
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
            return z ^ (z >> 31);
        };
        std::string id(32, '0');
        constexpr char hex[] = "0123456789abcdef";
        for (std::size_t half = 0; half < 2; ++half) {
            auto v = next();
            for (std::size_t i = 0; i < 16; ++i) id[half * 16 + i] = hex[(v >> (60 - 4 * i)) & 15];
        }
        return id;
    }

private:
    bool acceptable(std::string_view id) const noexcept {
        if (id.empty() || id.size() > opts_.max_length) return false;
        for (char c : id) {
            bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '_' || c == ':' || c == '+' || c == '/' || c == '=' || c == '-';
            if (!ok) return false;
        }
        return true;
    }

    request_id_options opts_;
};

}  // namespace porthole

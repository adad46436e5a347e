// porthole/encoding.hpp: content codings (RFC 9110 8.4) and Accept-Encoding negotiation (RFC
// 9110 12.5.3), with no compression library: static files pick a precompressed file with it,
// the compression layer (compression.hpp) picks what to compress with.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/http.hpp>

#include <cstdint>
#include <span>
#include <string_view>

namespace porthole {

enum class content_coding : std::uint8_t { identity, br, gzip, deflate };

// The token for a coding: "identity", "br", "gzip", "deflate".
constexpr std::string_view to_string(content_coding c) noexcept {
    switch (c) {
        case content_coding::br: return "br";
        case content_coding::gzip: return "gzip";
        case content_coding::deflate: return "deflate";
        default: return "identity";
    }
}

// A set of codings a server can produce (identity is always possible).
struct coding_set {
    bool br = false;
    bool gzip = false;
    bool deflate = false;
    constexpr bool contains(content_coding c) const noexcept {
        return c == content_coding::br     ? br
               : c == content_coding::gzip ? gzip
                                           : c == content_coding::deflate && deflate;
    }
};

// What a request's Accept-Encoding allows: the coding to use, and whether identity (no coding)
// is acceptable at all.
struct encoding_choice {
    content_coding coding = content_coding::identity;
    bool identity_acceptable = true;
};

namespace detail {
// A qvalue ("1", "0.5", "0.000") in thousandths, or -1 when malformed (RFC 9110 12.4.2).
constexpr int parse_qvalue(std::string_view q) noexcept {
    if (q.empty() || q.size() > 5 || (q[0] != '0' && q[0] != '1')) return -1;
    int v = (q[0] - '0') * 1000;
    if (q.size() == 1) return v;
    if (q[1] != '.') return -1;
    int scale = 100;
    for (std::size_t i = 2; i < q.size(); ++i, scale /= 10) {
        if (q[i] < '0' || q[i] > '9') return -1;
        v += (q[i] - '0') * scale;
    }
    return v > 1000 ? -1 : v;
}

// One element of an Accept-Encoding list: its coding token and weight (1000 without "q=").
constexpr bool parse_coding_element(std::string_view item, std::string_view& coding, int& q) noexcept {
    auto semi = item.find(';');
    coding = trim_ows(item.substr(0, semi));
    q = 1000;
    if (!is_token(coding)) return false;
    while (semi != std::string_view::npos) {
        item.remove_prefix(semi + 1);
        semi = item.find(';');
        auto param = trim_ows(item.substr(0, semi));
        auto eq = param.find('=');
        if (eq == std::string_view::npos) return false;
        auto name = trim_ows(param.substr(0, eq));
        if (iequals(name, "q")) {
            q = parse_qvalue(trim_ows(param.substr(eq + 1)));
            if (q < 0) return false;
        }
    }
    return true;
}
}  // namespace detail

// Chooses among `available` for the Accept-Encoding field lines in `fields` (every line named
// Accept-Encoding counts). The highest weight wins; on a tie br, then gzip, then deflate. A
// coding not listed is acceptable only through "*"; "x-gzip" is gzip. A coding listed twice
// has the lower of its weights (RFC 9110 does not say; "gzip;q=0, gzip" refuses gzip, as the
// cautious reading of a "not acceptable" and as nginx, which takes the first, reads this one).
// Identity wins when it is listed with a weight above the best coding's. Without any
// Accept-Encoding: identity.
constexpr encoding_choice choose_encoding(std::span<header_field const> fields, coding_set available) noexcept {
    int q_br = -1, q_gzip = -1, q_deflate = -1, q_identity = -1, q_any = -1;
    bool present = false;
    for (auto const& f : fields) {
        if (!iequals(f.name, "Accept-Encoding")) continue;
        present = true;
        for_each_list_item(f.value, [&](std::string_view item) {
            std::string_view coding;
            int q = 0;
            if (!detail::parse_coding_element(item, coding, q)) return;  // a malformed element counts for nothing
            int* slot = iequals(coding, "br")                                  ? &q_br
                        : iequals(coding, "gzip") || iequals(coding, "x-gzip") ? &q_gzip
                        : iequals(coding, "deflate")                           ? &q_deflate
                        : iequals(coding, "identity")                          ? &q_identity
                        : coding == "*"                                        ? &q_any
                                                                               : nullptr;
            if (slot && (*slot < 0 || q < *slot)) *slot = q;  // listed again: the lower weight
        });
    }
    encoding_choice out;
    if (!present) return out;
    out.identity_acceptable = q_identity > 0 || (q_identity < 0 && q_any != 0);
    auto weight = [&](int q) { return q >= 0 ? q : q_any; };
    int best = 0;
    auto consider = [&](content_coding c, int q) {
        if (available.contains(c) && weight(q) > best) {
            best = weight(q);
            out.coding = c;
        }
    };
    consider(content_coding::br, q_br);
    consider(content_coding::gzip, q_gzip);
    consider(content_coding::deflate, q_deflate);
    if (q_identity > best && out.identity_acceptable) out.coding = content_coding::identity;
    return out;
}

// Whether a media type is worth compressing: text, JSON, JavaScript, XML, SVG, WebAssembly and
// the like; not images, audio, video, archives or fonts other than the uncompressed kinds.
constexpr bool is_compressible_type(std::string_view type) noexcept {
    type = detail::media_type(type);
    auto starts = [&](std::string_view p) { return type.size() >= p.size() && iequals(type.substr(0, p.size()), p); };
    auto ends = [&](std::string_view tail) { return detail::media_type_ends_with(type, tail); };
    if (starts("text/")) return !iequals(type, "text/event-stream");  // events go out one by one, unbuffered
    return ends("+json") || ends("+xml") || ends("/json") || ends("/xml") || ends("/javascript") ||
           iequals(type, "application/wasm") || iequals(type, "image/svg+xml") ||
           iequals(type, "image/vnd.microsoft.icon") || iequals(type, "image/bmp") || iequals(type, "font/ttf") ||
           iequals(type, "font/otf") || iequals(type, "application/x-www-form-urlencoded") ||
           iequals(type, "application/yaml");
}

}  // namespace porthole

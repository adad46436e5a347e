// porthole/html.hpp: HTML text. The one escaper every writer of HTML uses (templates, directory
// listings, error pages), and trusted markup: `html` owns HTML that is safe as it stands (what a
// template renders, or markup the program trusts); `html_view` views it. Templates insert both
// raw, and response::html takes a rendered page as it is.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

namespace porthole {

// ---------------------------------------------------------------- escaping

namespace detail {
// What HTML escaping writes for c, or nothing when c stays as it is.
constexpr std::string_view html_entity(char c) noexcept {
    switch (c) {
        case '&': return "&amp;";
        case '<': return "&lt;";
        case '>': return "&gt;";
        case '"': return "&quot;";
        case '\'': return "&#39;";
        default: return {};
    }
}

// The first byte in [p, end) that HTML escaping replaces, or end. Eight bytes at a time: & and '
// differ only in bit 0, < and > only in bit 1, so three byte compares cover all five.
inline char const* find_html_special(char const* p, char const* end) noexcept {
    if constexpr (std::endian::native == std::endian::little) {
        constexpr std::uint64_t ones = 0x0101010101010101;
        auto zero_bytes = [](std::uint64_t v) { return (v - ones) & ~v & (ones * 0x80); };
        for (; end - p >= 8; p += 8) {
            std::uint64_t word;
            std::memcpy(&word, p, 8);
            const std::uint64_t hits = zero_bytes((word | ones) ^ (ones * '\'')) |
                                       zero_bytes((word | ones * 2) ^ (ones * '>')) | zero_bytes(word ^ (ones * '"'));
            // The lowest flagged byte is exact (borrows only flag bytes above a real match).
            if (hits != 0) return p + std::countr_zero(hits) / 8;
        }
    }
    while (p != end && html_entity(*p).empty()) ++p;
    return p;
}

// Exact size of text once escaped, so the output can be sized before writing.
inline std::size_t html_escaped_size(std::string_view text) noexcept {
    std::size_t size = text.size();
    char const* const end = text.data() + text.size();
    for (char const* p = text.data(); (p = find_html_special(p, end)) != end; ++p) {
        size += html_entity(*p).size() - 1;
    }
    return size;
}
}  // namespace detail

// Appends text to out with & < > " ' replaced by their entities; safe in element content and
// in quoted attribute values that hold text. Not in URL attributes (href, src), event handlers
// (on*), style, or inside <script> and <style>, where the browser reads it as more than text.
inline void html_escape(std::string_view text, std::string& out) {
    char const* run = text.data();
    char const* const end = run + text.size();
    for (;;) {
        char const* special = detail::find_html_special(run, end);
        out.append(run, static_cast<std::size_t>(special - run));
        if (special == end) return;
        out.append(detail::html_entity(*special));
        run = special + 1;
    }
}

inline std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(detail::html_escaped_size(text));
    html_escape(text, out);
    return out;
}

// ---------------------------------------------------------------- trusted markup

// HTML that is safe as it stands: what templates render, or markup you trust. Inserted into
// templates raw, so a rendered template used as a value is never escaped twice.
class html {
public:
    html() = default;
    explicit html(std::string trusted) noexcept : text_(std::move(trusted)) {}
    std::string_view view() const noexcept { return text_; }
    std::string const& str() const& noexcept { return text_; }
    std::string str() && noexcept { return std::move(text_); }
    friend bool operator==(html const&, html const&) = default;

private:
    std::string text_;
};

// A non-owning view of trusted markup; inserted raw like html.
class html_view {
public:
    constexpr explicit html_view(std::string_view trusted) noexcept : text_(trusted) {}
    html_view(html const& h) noexcept : text_(h.view()) {}  // NOLINT: implicit on purpose
    constexpr std::string_view view() const noexcept { return text_; }

private:
    std::string_view text_;
};

}  // namespace porthole

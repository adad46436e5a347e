// porthole/chunked.hpp: the chunked transfer coding (RFC 9112 7.1), decoded incrementally and
// in place, with its size lines, extensions and trailer section checked against their grammar
// and bounded by parser_limits.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/detail/field_line.hpp>
#include <porthole/http.hpp>
#include <porthole/parse_error.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace porthole {

// Decodes the chunked transfer coding (RFC 9112 7.1) incrementally. Input bytes that it reports
// as consumed are done with; the caller presents the unconsumed rest again, followed by new
// bytes, on the next call. Output may be written over the input (out <= in): data moves down.
class chunked_decoder {
public:
    explicit chunked_decoder(parser_limits const& limits = {}) noexcept : limits_(limits) {}

    struct result {
        std::size_t consumed = 0;
        std::size_t produced = 0;
        parse_status status = parse_status::incomplete;
    };

    result decode(char const* in, std::size_t size, char* out) noexcept {
        result r;
        char const* p = in;
        char const* end = in + size;
        while (p != end || phase_ == phase::done) {
            switch (phase_) {
                case phase::size_line: {
                    char const* next = nullptr;
                    auto st = parse_size_line(p, end, next);
                    if (st != parse_status::complete) return finish(r, in, p, st);
                    p = next;
                    if (chunk_left_ == 0) {
                        phase_ = phase::trailers;
                        trailer_bytes_ = 0;
                    } else {
                        phase_ = phase::data;
                    }
                    break;
                }
                case phase::data: {
                    auto avail = static_cast<std::uint64_t>(end - p);
                    auto n = static_cast<std::size_t>(avail < chunk_left_ ? avail : chunk_left_);
                    if (out + r.produced != p) std::memmove(out + r.produced, p, n);
                    r.produced += n;
                    p += n;
                    chunk_left_ -= n;
                    if (chunk_left_ == 0) phase_ = phase::data_crlf;
                    break;
                }
                case phase::data_crlf:
                    if (*p == '\r') {
                        if (end - p < 2) return finish(r, in, p, parse_status::incomplete);
                        if (p[1] != '\n') return fail(r, in, p, parse_error::missing_chunk_data_crlf);
                        p += 2;
                    } else if (*p == '\n' && limits_.allow_bare_lf) {
                        p += 1;
                    } else {
                        return fail(r, in, p, parse_error::missing_chunk_data_crlf);
                    }
                    phase_ = phase::size_line;
                    break;
                case phase::trailers: {
                    header_field f;
                    char const* next = nullptr;
                    parse_error err = parse_error::none;
                    auto cap = end;
                    auto room = limits_.max_trailer_bytes - trailer_bytes_;
                    if (static_cast<std::size_t>(end - p) > room) cap = p + room;
                    auto lr = detail::scan_field_line(p, cap, false, limits_.allow_bare_lf, f, next, err);
                    if (lr == detail::line_result::need_more) {
                        if (cap != end) return fail(r, in, p, parse_error::trailers_too_large);
                        return finish(r, in, p, parse_status::incomplete);
                    }
                    if (lr == detail::line_result::error) return fail(r, in, p, err);
                    trailer_bytes_ += static_cast<std::size_t>(next - p);
                    p = next;
                    if (lr == detail::line_result::section_end) phase_ = phase::done;
                    break;
                }
                case phase::done: return finish(r, in, p, parse_status::complete);
            }
        }
        return finish(r, in, p, parse_status::incomplete);
    }

    parse_error error() const noexcept { return error_; }
    std::uint64_t body_size() const noexcept { return body_size_; }
    bool done() const noexcept { return phase_ == phase::done; }
    // The most decoded bytes a body may have (413 beyond), from the next size line on.
    void set_max_body(std::uint64_t n) noexcept { limits_.max_body = n; }
    void reset() noexcept {
        phase_ = phase::size_line;
        error_ = parse_error::none;
        chunk_left_ = body_size_ = overhead_ = 0;
        trailer_bytes_ = 0;
    }

private:
    enum class phase : std::uint8_t { size_line, data, data_crlf, trailers, done };

    result finish(result r, char const* in, char const* p, parse_status st) noexcept {
        r.consumed = static_cast<std::size_t>(p - in);
        r.status = st;
        return r;
    }
    result fail(result r, char const* in, char const* p, parse_error e) noexcept {
        error_ = e;
        return finish(r, in, p, parse_status::error);
    }

    // chunk-size [ chunk-ext ] CRLF, consumed only whole: a short line is re-read next time.
    // The line is judged once its end has arrived, or once it is longer than any valid one
    // can be (64 bytes of size and BWS, the extension limit, CRLF), so the verdict never
    // depends on how the bytes were split.
    parse_status parse_size_line(char const* p, char const* end, char const*& next) noexcept {
        std::size_t max_line = max_size_part + limits_.max_chunk_extension + 2;
        std::size_t avail = static_cast<std::size_t>(end - p);
        auto lf = static_cast<char const*>(std::memchr(p, '\n', std::min(avail, max_line)));
        if (lf == nullptr) {
            if (avail < max_line) return parse_status::incomplete;
            auto semi = static_cast<char const*>(std::memchr(p, ';', max_size_part + 1));
            return set(semi ? parse_error::chunk_extension_too_long : parse_error::invalid_chunk_size);
        }
        char const* eol = lf;
        if (lf != p && lf[-1] == '\r') --eol;
        else if (!limits_.allow_bare_lf) return set(parse_error::bare_lf);
        if (std::memchr(p, '\r', static_cast<std::size_t>(eol - p)) != nullptr) return set(parse_error::bare_cr);
        next = lf + 1;
        return check_size_line(std::string_view(p, static_cast<std::size_t>(eol - p)),
                               static_cast<std::size_t>(next - p));
    }

    // chunk-size [ chunk-ext ], without its line end (RFC 9112 7.1, 7.1.1):
    //   chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
    //   chunk-ext-name = token; chunk-ext-val = token / quoted-string
    parse_status check_size_line(std::string_view line, std::size_t wire_size) noexcept {
        std::uint64_t size = 0;
        std::size_t i = 0;
        for (; i < line.size(); ++i) {
            int v = detail::hex_value(line[i]);
            if (v < 0) break;
            if (size > (UINT64_MAX >> 4)) return set(parse_error::chunk_size_overflow);
            size = (size << 4) | static_cast<std::uint64_t>(v);
        }
        if (i == 0) return set(parse_error::invalid_chunk_size);
        auto semi = line.find(';', i);
        if (std::min(semi, line.size()) > max_size_part) return set(parse_error::invalid_chunk_size);
        if (semi != std::string_view::npos && line.size() - semi > limits_.max_chunk_extension)
            return set(parse_error::chunk_extension_too_long);
        auto skip_bws = [&](std::size_t k) {
            while (k < line.size() && (line[k] == ' ' || line[k] == '\t')) ++k;
            return k;
        };
        auto skip_token = [&](std::size_t k) {
            while (k < line.size() && detail::is_tchar(line[k])) ++k;
            return k;
        };
        for (bool first = true;; first = false) {
            std::size_t k = skip_bws(i);
            if (k == line.size()) {
                // BWS comes only before ';' or '=': none may end the line.
                if (k != i) return set(first ? parse_error::invalid_chunk_size : parse_error::invalid_chunk_extension);
                break;
            }
            if (line[k] != ';')
                return set(first ? parse_error::invalid_chunk_size : parse_error::invalid_chunk_extension);
            std::size_t name = skip_bws(k + 1);
            i = skip_token(name);
            if (i == name) return set(parse_error::invalid_chunk_extension_name);
            k = skip_bws(i);
            if (k == line.size() || line[k] != '=') continue;  // a name alone
            std::size_t value = skip_bws(k + 1);
            if (value < line.size() && line[value] == '"') {
                auto q = detail::scan_quoted_string(line, value);
                if (q.outcome == q.unterminated) return set(parse_error::unterminated_quoted_string);
                if (q.outcome == q.invalid) return set(parse_error::invalid_quoted_string);
                i = q.end;
            } else {
                i = skip_token(value);
                if (i == value) return set(parse_error::invalid_chunk_extension_value);
            }
        }
        if (size > limits_.max_body - body_size_) return set(parse_error::body_too_large);
        // Framing beyond what the chunk is allowed (32 bytes plus its size) adds to a debt that
        // data pays back; a debt over the limit is framing out of proportion to the data.
        std::uint64_t framing = wire_size + (size != 0 ? 2 : 0);  // the CRLF after the data
        std::uint64_t allowance = chunk_overhead_allowance + size;
        overhead_ = framing > allowance ? overhead_ + (framing - allowance)
                                        : overhead_ - std::min<std::uint64_t>(overhead_, allowance - framing);
        if (overhead_ > limits_.max_chunk_overhead) return set(parse_error::chunk_overhead_too_large);
        body_size_ += size;
        chunk_left_ = size;
        return parse_status::complete;
    }
    parse_status set(parse_error e) noexcept {
        error_ = e;
        return parse_status::error;
    }

    static constexpr std::size_t max_size_part = 64;  // chunk-size and BWS: 16 digits do for any size
    static constexpr std::uint64_t chunk_overhead_allowance = 32;

    parser_limits limits_;
    phase phase_ = phase::size_line;
    parse_error error_ = parse_error::none;
    std::uint64_t chunk_left_ = 0;
    std::uint64_t body_size_ = 0;
    std::uint64_t overhead_ = 0;  // framing debt, see check_size_line
    std::size_t trailer_bytes_ = 0;
};

}  // namespace porthole

// porthole/websocket_deflate.hpp: the server side of permessage-deflate (RFC 7692), the
// WebSocket compression extension: reading a client's offers, choosing the parameters, and
// compressing and decompressing messages with zlib.
//
// It exists only when zlib was found at build time (meson defines PORTHOLE_WITH_ZLIB); without
// it every offer is declined and nothing of zlib is compiled. With it, it is still off until
// deflate_options::enabled is set, because it costs memory on every connection that uses it:
//   compressor    (1 << (server_max_window_bits + 2)) + (1 << (mem_level + 9)) bytes
//   decompressor  (1 << client_max_window_bits) + about 7 KiB
// 256 KiB + 39 KiB with the defaults (15, 8, 15), 3 KiB + 7.5 KiB with (9, 1, 9). Each is
// allocated on first use: the compressor when a message is first compressed, the decompressor
// when the first compressed message arrives.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/http.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#ifdef PORTHOLE_WITH_ZLIB
#include <zlib.h>
#endif

namespace porthole::ws {

// The server's settings.
struct deflate_options {
    bool enabled = false;                     // off by default: see the memory cost above
    int server_max_window_bits = 15;          // 9..15: the window our compressor uses (an offer may ask for less)
    int client_max_window_bits = 15;          // 9..15: asked of clients whose offer lets the server choose
    int mem_level = 8;                        // 1..9: zlib's memLevel for the compressor
    int compression_level = 6;                // 0..9: zlib's level
    std::size_t min_size = 128;               // shorter messages go out uncompressed (RFC 7692 6.1 allows it)
    bool server_no_context_takeover = false;  // reset the compressor after every message
};

// What one connection agreed on (RFC 7692 7.1).
struct deflate_params {
    bool server_no_context_takeover = false;
    bool client_no_context_takeover = false;
    int server_max_window_bits = 15;
    int client_max_window_bits = 15;
    // The offer named server_max_window_bits: the response must name it too, 15 included
    // (RFC 7692 7.1.2.1: accepted only so).
    bool server_max_window_bits_offered = false;
};

// True when this build can compress (zlib was found).
constexpr bool deflate_available() noexcept {
#ifdef PORTHOLE_WITH_ZLIB
    return true;
#else
    return false;
#endif
}

namespace detail {

struct extension_param {
    std::string_view name;
    std::string value;  // unquoted
    bool has_value = false;
};

// Reads a Sec-WebSocket-Extensions value (RFC 6455 9.1): comma-separated elements
// `name *( ";" param [ "=" (token / quoted-string) ] )`, one extension and its parameters at a time.
class extension_list_reader {
public:
    explicit extension_list_reader(std::string_view text) noexcept : s_(text) {}

    // The next extension's name, or nullopt at the end or on a syntax error (then failed()).
    std::optional<std::string_view> next_extension() {
        skip_ows();
        while (at(',')) {
            ++i_;
            skip_ows();
        }
        if (i_ >= s_.size()) return std::nullopt;
        auto name = token();
        if (name.empty()) return fail();
        skip_ows();
        return name;
    }
    // The next parameter of the current extension, or nullopt at its end or on an error.
    std::optional<extension_param> next_param() {
        skip_ows();
        if (!at(';')) {
            if (i_ < s_.size() && !at(',')) return fail();
            return std::nullopt;
        }
        ++i_;
        skip_ows();
        extension_param p;
        p.name = token();
        if (p.name.empty()) return fail();
        skip_ows();
        if (at('=')) {
            ++i_;
            skip_ows();
            p.has_value = true;
            if (at('"')) {
                ++i_;
                for (;;) {
                    if (i_ >= s_.size()) return fail();
                    char c = s_[i_++];
                    if (c == '"') break;
                    if (c == '\\') {
                        if (i_ >= s_.size()) return fail();
                        c = s_[i_++];
                    }
                    p.value += c;
                }
                if (!porthole::detail::is_token(p.value)) return fail();  // RFC 6455 9.1
            } else {
                p.value = std::string(token());
                if (p.value.empty()) return fail();
            }
        }
        return p;
    }
    bool failed() const noexcept { return failed_; }

private:
    bool at(char c) const noexcept { return i_ < s_.size() && s_[i_] == c; }
    void skip_ows() noexcept {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
    }
    std::string_view token() noexcept {
        std::size_t b = i_;
        while (i_ < s_.size() && porthole::detail::is_tchar(s_[i_])) ++i_;
        return s_.substr(b, i_ - b);
    }
    std::nullopt_t fail() noexcept {
        failed_ = true;
        i_ = s_.size();
        return std::nullopt;
    }

    std::string_view s_;
    std::size_t i_ = 0;
    bool failed_ = false;
};

// A window-bits value: "8" to "15", no sign, no leading zero (RFC 7692 7.1.2).
inline int window_bits_value(std::string_view v) noexcept {
    if (v.size() == 1 && v[0] >= '8' && v[0] <= '9') return v[0] - '0';
    if (v.size() == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5') return 10 + (v[1] - '0');
    return 0;
}

}  // namespace detail

// The parameters to use for the first permessage-deflate offer in `value` (one
// Sec-WebSocket-Extensions field value) that the server can accept, or nullopt (RFC 7692 5.1,
// 7.1: an offer with an unknown, repeated or invalid parameter is declined; so is one that
// limits the server's window to 8 bits, which zlib cannot produce).
inline std::optional<deflate_params> choose_deflate(std::string_view value, deflate_options const& o) {
    if (!o.enabled || !deflate_available()) return std::nullopt;
    detail::extension_list_reader r(value);
    while (auto name = r.next_extension()) {
        bool ours = iequals(*name, "permessage-deflate");
        bool ok = ours;
        bool seen[4] = {};
        int server_bits = 0;  // 0: not limited by the offer
        bool client_bits_allowed = false;
        int client_bits = 0;
        deflate_params p;
        while (auto param = r.next_param()) {
            if (!ours) continue;
            int which = iequals(param->name, "server_no_context_takeover")   ? 0
                        : iequals(param->name, "client_no_context_takeover") ? 1
                        : iequals(param->name, "server_max_window_bits")     ? 2
                        : iequals(param->name, "client_max_window_bits")     ? 3
                                                                             : -1;
            if (which < 0 || seen[which]) {
                ok = false;
                continue;
            }
            seen[which] = true;
            if (which <= 1) {
                if (param->has_value) ok = false;
                (which == 0 ? p.server_no_context_takeover : p.client_no_context_takeover) = true;
            } else if (which == 2) {
                server_bits = param->has_value ? detail::window_bits_value(param->value) : 0;
                if (server_bits == 0 || server_bits == 8) ok = false;
            } else {
                client_bits_allowed = true;
                if (param->has_value) {
                    client_bits = detail::window_bits_value(param->value);
                    if (client_bits == 0) ok = false;
                }
            }
        }
        if (r.failed()) return std::nullopt;
        if (!ok) continue;
        p.server_no_context_takeover = p.server_no_context_takeover || o.server_no_context_takeover;
        p.server_max_window_bits = o.server_max_window_bits;
        if (server_bits != 0 && server_bits < p.server_max_window_bits) p.server_max_window_bits = server_bits;
        p.server_max_window_bits_offered = seen[2];
        p.client_max_window_bits = 15;
        if (client_bits_allowed) {
            p.client_max_window_bits = o.client_max_window_bits;
            // An 8 offered is answered 8 (RFC 7692 7.1.2.2: no more than the offer); zlib reads
            // such a window with a 9-bit one (deflate_codec).
            if (client_bits != 0 && client_bits < p.client_max_window_bits) p.client_max_window_bits = client_bits;
        }
        return p;
    }
    return std::nullopt;
}

// The Sec-WebSocket-Extensions value of the 101 response that accepts `p`. The window sizes are
// stated whenever they are below 15, so the client knows them (client_max_window_bits only when
// the offer allowed it, which is the only case where it can be below 15), and the server's
// whenever the offer named it.
inline std::string deflate_response(deflate_params const& p) {
    std::string s = "permessage-deflate";
    if (p.server_no_context_takeover) s += "; server_no_context_takeover";
    if (p.client_no_context_takeover) s += "; client_no_context_takeover";
    if (p.server_max_window_bits < 15 || p.server_max_window_bits_offered)
        s += "; server_max_window_bits=" + std::to_string(p.server_max_window_bits);
    if (p.client_max_window_bits < 15) s += "; client_max_window_bits=" + std::to_string(p.client_max_window_bits);
    return s;
}

namespace detail {

// One connection's compressor and decompressor. Without zlib it is never made (no offer is
// accepted), and its functions are not reached.
class deflate_codec {
public:
    enum class result : std::uint8_t { ok, too_big, corrupt };
    // Final blocks (BFINAL, RFC 7692 7.2.3.4) one message may hold: a sender that flushes that
    // way ends a message, or a fragment, with one. Beyond: corrupt (1007).
    static constexpr unsigned max_stream_ends_per_message = 16;

    // `server`: this end is the server, so it inflates with the client's window and deflates
    // with the server's (RFC 7692 7.1.1, 7.1.2); a client the other way round.
    deflate_codec(deflate_params const& p, deflate_options const& o, bool server = true) noexcept : options_(o) {
        inflate_bits_ = server ? p.client_max_window_bits : p.server_max_window_bits;
        deflate_bits_ = server ? p.server_max_window_bits : p.client_max_window_bits;
        inflate_reset_ = server ? p.client_no_context_takeover : p.server_no_context_takeover;
        deflate_reset_ = server ? p.server_no_context_takeover : p.client_no_context_takeover;
        if (inflate_bits_ < 9) inflate_bits_ = 9;  // zlib reads 8-bit windows with a 9-bit one
        // A client told 8 cannot compress (zlib has no 8-bit raw window): its deflater fails to
        // open and messages go out uncompressed, which RFC 7692 6.1 allows.
    }
    deflate_codec(deflate_codec const&) = delete;
    deflate_codec& operator=(deflate_codec const&) = delete;
    ~deflate_codec() {
#ifdef PORTHOLE_WITH_ZLIB
        if (inflater_ready_) inflateEnd(&inflater_);
        if (deflater_ready_) deflateEnd(&deflater_);
#endif
    }

    // Decompresses the next piece of a compressed message, appending to `out`, which must not
    // grow past `limit` bytes (too_big). `last` adds the empty block the sender left off
    // (RFC 7692 7.2.2) and ends the message.
    result inflate(std::string_view in, bool last, std::string& out, std::size_t limit) {
#ifdef PORTHOLE_WITH_ZLIB
        if (!inflater_ready_) {
            if (inflateInit2(&inflater_, -inflate_bits_) != Z_OK) return result::corrupt;
            inflater_ready_ = true;
        }
        if (auto r = run_inflate(in, out, limit); r != result::ok) return r;
        if (!last) return result::ok;
        // A message that ends with a final block (BFINAL, RFC 7692 7.2.3.4) and without the one
        // octet of empty stored block header after it is taken as whole: the tail would start
        // a block that never ends, and every later message would be read as its contents.
        auto r = result::ok;
        if (!at_stream_end_) {
            static constexpr char tail[4] = {0, 0, char(0xff), char(0xff)};
            r = run_inflate({tail, 4}, out, limit);
        }
        at_stream_end_ = false;
        stream_ends_ = 0;
        if (inflate_reset_) inflateReset(&inflater_);
        return r;
#else
        (void)in, (void)last, (void)out, (void)limit;
        return result::corrupt;
#endif
    }

    // Appends the compressed form of a whole message to `out`, without the trailing empty block.
    bool deflate(std::string_view in, std::string& out) {
#ifdef PORTHOLE_WITH_ZLIB
        if (!deflater_ready_) {
            if (deflateInit2(&deflater_, options_.compression_level, Z_DEFLATED, -deflate_bits_, options_.mem_level,
                             Z_DEFAULT_STRATEGY) != Z_OK)
                return false;
            deflater_ready_ = true;
        }
        std::size_t at = out.size();
        deflater_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        deflater_.avail_in = static_cast<uInt>(in.size());
        for (;;) {
            std::size_t room = deflateBound(&deflater_, deflater_.avail_in) + 16;
            std::size_t used = out.size();
            out.resize(used + room);
            deflater_.next_out = reinterpret_cast<Bytef*>(out.data() + used);
            deflater_.avail_out = static_cast<uInt>(room);
            int rc = ::deflate(&deflater_, Z_SYNC_FLUSH);
            out.resize(out.size() - deflater_.avail_out);
            if (rc != Z_OK && rc != Z_BUF_ERROR) {
                out.resize(at);
                return false;
            }
            if (deflater_.avail_in == 0 && deflater_.avail_out != 0) break;
        }
        // A sync flush ends with 00 00 FF FF, which the receiver adds back (RFC 7692 7.2.1).
        if (out.size() - at >= 4 && out.compare(out.size() - 4, 4, std::string_view("\0\0\xff\xff", 4)) == 0)
            out.resize(out.size() - 4);
        if (deflate_reset_) deflateReset(&deflater_);
        return true;
#else
        (void)in, (void)out;
        return false;
#endif
    }

    deflate_options const& options() const noexcept { return options_; }

private:
#ifdef PORTHOLE_WITH_ZLIB
    result run_inflate(std::string_view in, std::string& out, std::size_t limit) {
        inflater_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        inflater_.avail_in = static_cast<uInt>(in.size());
        if (!in.empty()) at_stream_end_ = false;
        for (;;) {
            // One byte of room past the limit tells a message that would pass it.
            std::size_t room = std::min<std::size_t>(limit + 1 - std::min(limit + 1, out.size()), 16 * 1024);
            if (room == 0) return result::too_big;
            std::size_t used = out.size();
            out.resize(used + room);
            inflater_.next_out = reinterpret_cast<Bytef*>(out.data() + used);
            inflater_.avail_out = static_cast<uInt>(room);
            int rc = ::inflate(&inflater_, Z_SYNC_FLUSH);
            out.resize(out.size() - inflater_.avail_out);
            if (out.size() > limit) return result::too_big;
            if (rc == Z_STREAM_END || rc == Z_NEED_DICT || rc == Z_DATA_ERROR || rc == Z_MEM_ERROR) {
                // A final block (BFINAL) ends the DEFLATE stream; what follows starts the next.
                if (rc != Z_STREAM_END) return result::corrupt;
                // Each restart copies the window out and back (64 KiB): a message of empty final
                // blocks (two bytes each) must not buy one per two bytes.
                if (++stream_ends_ > max_stream_ends_per_message) return result::corrupt;
                restart_stream();
                if (inflater_.avail_in != 0) continue;
                at_stream_end_ = true;
                return result::ok;
            }
            if (inflater_.avail_in == 0 && inflater_.avail_out != 0) return result::ok;
            if (rc == Z_BUF_ERROR && inflater_.avail_in == 0) return result::ok;
        }
    }

    // After a final block the next block starts a new DEFLATE stream over the same sliding
    // window (RFC 7692 7.2.2; without context takeover it is emptied between messages, not
    // within one).
    void restart_stream() {
        Bytef window[1u << 15];
        uInt kept = 0;
        if (inflateGetDictionary(&inflater_, window, &kept) != Z_OK) kept = 0;
        inflateReset(&inflater_);
        if (kept != 0) inflateSetDictionary(&inflater_, window, kept);
    }

    z_stream inflater_{};
    z_stream deflater_{};
    bool inflater_ready_ = false;
    bool deflater_ready_ = false;
    bool at_stream_end_ = false;    // the message's input so far ended exactly with a final block
    std::uint8_t stream_ends_ = 0;  // final blocks in this message so far
#endif
    deflate_options options_;
    int inflate_bits_ = 15;
    int deflate_bits_ = 15;
    bool inflate_reset_ = false;
    bool deflate_reset_ = false;
};

}  // namespace detail
}  // namespace porthole::ws

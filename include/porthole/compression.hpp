// porthole/compression.hpp: response compression and request decompression as layers, through
// zlib (gzip, deflate) and libbrotli's encoder (br). Optional, as fmt is: meson defines
// PORTHOLE_WITH_ZLIB and PORTHOLE_WITH_BROTLI when it finds the libraries (-lz, -lbrotlienc);
// with the single header, define them yourself and link those. A program that uses neither
// layer links neither library.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/detail/platform.hpp>
#include <porthole/detail/validators.hpp>
#include <porthole/encoding.hpp>
#include <porthole/layer.hpp>
#include <porthole/stream.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#if defined(PORTHOLE_WITH_ZLIB)
#include <zlib.h>
#endif
#if defined(PORTHOLE_WITH_BROTLI)
#include <brotli/encode.h>
#endif

namespace porthole {

// The codings this build can produce.
inline constexpr coding_set built_in_codings {
#if defined(PORTHOLE_WITH_BROTLI)
    true,
#else
    false,
#endif
#if defined(PORTHOLE_WITH_ZLIB)
        true, true,
#else
        false, false,
#endif
};

namespace detail {

// One compressed stream of one coding. write() appends what the input makes so far; with
// `flush`, everything written can be decoded at once (a streamed piece reaches the client
// whole); finish() ends the stream. Throws std::runtime_error if the library fails.
class encoder {
public:
    // window_bits and memory_level are zlib's (9..15, 1..9): smaller for small bodies, whose
    // matches never reach far, so that there is less state to set up.
    encoder(content_coding c, int level, int brotli_quality, int window_bits = 15, int memory_level = 8) {
#if defined(PORTHOLE_WITH_ZLIB)
        if (c == content_coding::gzip || c == content_coding::deflate) {
            zs_ = std::make_unique<z_stream>();
            if (deflateInit2(zs_.get(), level, Z_DEFLATED, c == content_coding::gzip ? window_bits + 16 : window_bits,
                             memory_level, Z_DEFAULT_STRATEGY) != Z_OK) {
                zs_.reset();
                throw std::runtime_error("porthole: deflateInit2 failed");
            }
        }
#endif
#if defined(PORTHOLE_WITH_BROTLI)
        if (c == content_coding::br) {
            br_ = BrotliEncoderCreateInstance(nullptr, nullptr, nullptr);
            if (!br_) throw std::runtime_error("porthole: BrotliEncoderCreateInstance failed");
            BrotliEncoderSetParameter(br_, BROTLI_PARAM_QUALITY, static_cast<std::uint32_t>(brotli_quality));
        }
#endif
        (void)c, (void)level, (void)brotli_quality, (void)window_bits, (void)memory_level;
    }
    encoder(encoder const&) = delete;
    encoder& operator=(encoder const&) = delete;
    ~encoder() {
#if defined(PORTHOLE_WITH_ZLIB)
        if (zs_) deflateEnd(zs_.get());
#endif
#if defined(PORTHOLE_WITH_BROTLI)
        if (br_) BrotliEncoderDestroyInstance(br_);
#endif
    }

    void write(std::string_view in, bool flush, std::string& out) { run(in, flush ? step::flush : step::none, out); }
    void finish(std::string& out) { run({}, step::finish, out); }
    // After finish(): ready for another stream with the same settings (zlib only).
    void reset_for_next() noexcept {
#if defined(PORTHOLE_WITH_ZLIB)
        if (zs_) deflateReset(zs_.get());
#endif
    }

private:
    enum class step { none, flush, finish };

    void run(std::string_view in, step how, std::string& out) {
        constexpr std::size_t room = 16 * 1024;
#if defined(PORTHOLE_WITH_ZLIB)
        if (zs_) {
            zs_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
            zs_->avail_in = static_cast<uInt>(in.size());
            int mode = how == step::finish ? Z_FINISH : how == step::flush ? Z_SYNC_FLUSH : Z_NO_FLUSH;
            for (;;) {
                std::size_t had = out.size();
                out.resize(had + room);
                zs_->next_out = reinterpret_cast<Bytef*>(out.data() + had);
                zs_->avail_out = static_cast<uInt>(room);
                int rc = deflate(zs_.get(), mode);
                out.resize(had + room - zs_->avail_out);
                if (rc == Z_STREAM_ERROR) throw std::runtime_error("porthole: deflate failed");
                if (rc == Z_STREAM_END || (zs_->avail_out != 0 && zs_->avail_in == 0)) return;
            }
        }
#endif
#if defined(PORTHOLE_WITH_BROTLI)
        if (br_) {
            auto const* next_in = reinterpret_cast<std::uint8_t const*>(in.data());
            std::size_t avail_in = in.size();
            auto op = how == step::finish  ? BROTLI_OPERATION_FINISH
                      : how == step::flush ? BROTLI_OPERATION_FLUSH
                                           : BROTLI_OPERATION_PROCESS;
            for (;;) {
                std::size_t had = out.size();
                out.resize(had + room);
                auto* next_out = reinterpret_cast<std::uint8_t*>(out.data() + had);
                std::size_t avail_out = room;
                if (!BrotliEncoderCompressStream(br_, op, &avail_in, &next_in, &avail_out, &next_out, nullptr))
                    throw std::runtime_error("porthole: brotli compression failed");
                out.resize(had + room - avail_out);
                bool done = op == BROTLI_OPERATION_FINISH ? BrotliEncoderIsFinished(br_) : avail_in == 0;
                if (done && !BrotliEncoderHasMoreOutput(br_)) return;
            }
        }
#endif
        (void)in, (void)how, (void)out, (void)room;
    }

#if defined(PORTHOLE_WITH_ZLIB)
    std::unique_ptr<z_stream> zs_;
#endif
#if defined(PORTHOLE_WITH_BROTLI)
    BrotliEncoderState* br_ = nullptr;
#endif
};

// A whole body at once. zlib's window and hash table follow the body's size as nginx sizes
// them (a 1 KB page needs a 2 KiB window, not 32), and its state is kept per thread and size
// class, reset between responses rather than made for each: at most about 1 MiB per thread.
inline bool compress_whole(content_coding c, int level, int brotli_quality, std::string_view in, std::string& out) {
#if defined(PORTHOLE_WITH_ZLIB)
    if (c == content_coding::gzip || c == content_coding::deflate) {
        int window_bits = 15, memory_level = 8;
        while (window_bits > 9 && in.size() < (std::size_t{1} << (window_bits - 1)) - 262) {
            --window_bits;
            --memory_level;
        }
        memory_level = std::max(memory_level, 1);
        struct cached {
            std::unique_ptr<encoder> e;
            int level = -1;
        };
        thread_local cached cache[2][7];
        auto& slot = cache[c == content_coding::gzip ? 0 : 1][window_bits - 9];
        if (!slot.e || slot.level != level) {
            slot.e = std::make_unique<encoder>(c, level, brotli_quality, window_bits, memory_level);
            slot.level = level;
        }
        out.reserve(static_cast<std::size_t>(in.size() / 2) + 64);
        try {
            slot.e->write(in, false, out);
            slot.e->finish(out);
            slot.e->reset_for_next();
        } catch (...) {
            slot.e.reset();
            throw;
        }
        return true;
    }
#endif
#if defined(PORTHOLE_WITH_BROTLI)
    if (c == content_coding::br) {
        std::size_t size = BrotliEncoderMaxCompressedSize(in.size());
        if (size == 0) return false;
        out.resize(size);
        if (!BrotliEncoderCompress(brotli_quality, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, in.size(),
                                   reinterpret_cast<std::uint8_t const*>(in.data()), &size,
                                   reinterpret_cast<std::uint8_t*>(out.data())))
            return false;
        out.resize(size);
        return true;
    }
#endif
    (void)c, (void)level, (void)brotli_quality, (void)in, (void)out;
    return false;
}

}  // namespace detail

struct compression_options {
    int level = 6;           // zlib's level for gzip and deflate, 1 (fastest) to 9 (smallest)
    int brotli_quality = 5;  // brotli's quality, 0 to 11
    // Bodies smaller than this go as they are (compression would save a packet at most), unless
    // the request refuses identity. Streamed bodies, of unknown size, are always compressed.
    std::size_t min_size = 1024;
    // The codings to offer, among those built in (built_in_codings).
    coding_set codings = built_in_codings;
    // Which Content-Types to compress; empty: is_compressible_type() decides.
    std::vector<std::string> types{};
};

// Response compression (RFC 9110 8.4, 12.5.3):
//  - the coding comes from Accept-Encoding with its q-values (br, then gzip, then deflate on a
//    tie); nothing is compressed without an Accept-Encoding that allows a coding;
//  - only bodies of a compressible type, at least min_size bytes (unless identity;q=0), and
//    never a 206, 304, 204, a response that already has a Content-Encoding, or one with
//    Cache-Control: no-transform; a HEAD answer is compressed as its GET would be, so that its
//    head says what the GET's does (RFC 9110 9.3.2: no other Content-Length; a file large enough
//    to be compressed as it goes is not read for it);
//  - responses it could have compressed get Vary: Accept-Encoding, compressed or not, and so do
//    the 206 and 304 answers about them (a 304 of no content type too);
//  - a strong ETag on a GET's or HEAD's answer becomes weak (W/"..."): the compressed bytes are
//    another representation (another method's ETag names what it stored, and stays), and
//    If-None-Match still matches (weak comparison) while If-Range no longer does; a GET or HEAD
//    with If-Match (other than "*") gets the identity body, the one its strong tags name; a
//    304 carries the ETag of the 200 it stands for (RFC 9110 15.4.5): weak when the client sent
//    the weak form, or, asking by date alone or by "*", when a coding was chosen for the 304's compressible
//    content type (set on the 304 and not sent: static_files does);
//  - strings and files up to 256 KiB are compressed at once, and kept as they are if that does
//    not make them smaller (and identity is acceptable); larger files and streams are compressed
//    as they go out, each streamed piece flushed so the client gets it without waiting for the next.
class compression {
public:
    // A template only so that the check below is made where a program uses the layer.
    template <int Used = 1>
    explicit compression(compression_options o = {}) : opts_(std::move(o)) {
        static_assert(Used == 0 || built_in_codings.gzip || built_in_codings.br,
                      "porthole::compression needs zlib or brotli: build with PORTHOLE_WITH_ZLIB (-lz) and/or "
                      "PORTHOLE_WITH_BROTLI (-lbrotlienc); meson defines them when it finds the libraries");
        opts_.codings = {opts_.codings.br && built_in_codings.br, opts_.codings.gzip && built_in_codings.gzip,
                         opts_.codings.deflate && built_in_codings.deflate};
        opts_.level = std::clamp(opts_.level, 1, 9);
        opts_.brotli_quality = std::clamp(opts_.brotli_quality, 0, 11);
    }

    struct state {
        encoding_choice choice;
        std::string if_none_match{};  // kept only when a coding was chosen
        // A GET's or HEAD's ETag names the body sent, and is weakened with it; another method's
        // names the representation stored (RFC 9110 8.8.3, 9.3.4), not the answer's content.
        bool etag_names_body = true;
    };

    layer_result<state> before(request const& req) const {
        state s{choose_encoding(req.headers(), opts_.codings)};
        if (s.choice.coding == content_coding::identity) return s;
        // If-Match on a GET or HEAD compares with the body's tag strongly (RFC 9110 13.1.1): the
        // tags it names are the identity body's (a compressed one's is weak), so that body is
        // the one it asks about. (On other methods it names the stored representation, which
        // the handler checked; the answer may be compressed.)
        bool retrieves = req.method() == method::get || req.method() == method::head;
        s.etag_names_body = retrieves;
        for (auto const& f : req.headers()) {
            if (iequals(f.name, "If-None-Match")) s.if_none_match.append(f.value).append("\n");
            if (retrieves && iequals(f.name, "If-Match") && detail::trim_ows(f.value) != "*") return state{};
        }
        return s;
    }

    void after(state& s, response& res) const {
        auto st = res.status();
        auto non_empty = [&res](std::string_view name) {
            for (auto const& f : res.headers())
                if (iequals(f.name, name) && !f.value.empty()) return true;
            return false;
        };
        // Whether the layer negotiates the representation's coding: then every answer about it
        // names Accept-Encoding in Vary, as its 200 does (RFC 9110 12.5.5, 15.4.5).
        auto type = res.content_type();
        bool negotiable =
            compressible(type) && !non_empty("Content-Encoding") && !res.lists("Cache-Control", "no-transform");
        if (st == status::not_modified) {
            // A 304 carries the Vary and the ETag of the 200 it stands for (RFC 9110 15.4.5), so a
            // cache can freshen what it holds. Its content type, which the connection does not
            // send (static_files sets it), says whether the layer negotiates it; a 304 without
            // one is taken to. The ETag is weak when the client holds the compressed body (it
            // sent the weak form) or, asking by date alone or by "*", when a coding was chosen.
            if (!type.empty() && !negotiable) return;
            res.add_vary("Accept-Encoding");
            if (auto etag = res.header("ETag"); etag && etag->starts_with('"')) {
                // "*" names no tag: the 304 stands for the 200 this request would get.
                bool by_tag = !s.if_none_match.empty() && !lists_any(s.if_none_match);
                bool weak = by_tag ? weakly_listed(s.if_none_match, *etag)
                                   : negotiable && s.choice.coding != content_coding::identity;
                if (weak) res.set_header("ETag", "W/" + std::string(*etag));
            }
            return;
        }
        if (!status_allows_content(st) || !negotiable) return;
        res.add_vary("Accept-Encoding");
        if (st == status::partial_content || non_empty("Content-Range")) return;  // ranges stay identity
        auto coding = s.choice.coding;
        if (coding == content_coding::identity) return;
        auto size = res.body_size();
        if (size && (*size == 0 || (*size < opts_.min_size && s.choice.identity_acceptable))) return;
        if (!compress(coding, res, s.choice.identity_acceptable)) return;
        res.set_header("Content-Encoding", to_string(coding));
        res.erase_header("Accept-Ranges");  // ranges of the compressed bytes are not offered
        if (auto etag = res.header("ETag"); etag && etag->starts_with('"') && s.etag_names_body)
            res.set_header("ETag", "W/" + std::string(*etag));
    }

private:
    // Whether `f` holds for one of the If-None-Match lines (each ending in '\n', which no field
    // value holds). The lines are one list, but a 304 came only for one well formed on every
    // line (static_files), so each line may be looked at alone.
    template <class F>
    static bool any_line(std::string_view lines, F f) {
        for (std::size_t at = 0, end; (end = lines.find('\n', at)) != std::string_view::npos; at = end + 1)
            if (f(lines.substr(at, end - at))) return true;
        return false;
    }

    // Whether the If-None-Match lines list W/`etag`.
    static bool weakly_listed(std::string_view lines, std::string_view etag) {
        return any_line(lines, [etag](std::string_view line) {
            bool found = false;
            detail::for_each_entity_tag(line, [&](std::string_view tag, bool weak) {
                found = weak && tag == etag;
                return found;
            });
            return found;
        });
    }

    // Whether an If-None-Match line is "*" (RFC 9110 13.1.2: any current representation).
    static bool lists_any(std::string_view lines) {
        return any_line(lines, [](std::string_view line) { return detail::trim_ows(line) == "*"; });
    }

    bool compressible(std::string_view type) const {
        if (opts_.types.empty()) return is_compressible_type(type);
        type = detail::media_type(type);
        for (auto const& t : opts_.types)
            if (iequals(t, type)) return true;
        return false;
    }

    bool compress(content_coding coding, response& res, bool identity_acceptable) const {
        auto& body = res.body();
        if (auto f = std::get_if<file_body>(&body)) {
            if (f->length > whole_file_limit) {
                res.body() = stream_body{file_producer(coding, *f), nullptr};
                return true;
            }
            // A small file is read and compressed at once: a Content-Length, no chunks.
            std::string in(static_cast<std::size_t>(f->length), '\0');
            auto n = detail::read_file_at(f->fd ? f->fd->get() : -1, in.data(), in.size(), f->offset);
            if (n != static_cast<long>(in.size())) return false;  // it changed under us: sent as it is
            return set_compressed(coding, res, in, identity_acceptable);
        }
        if (auto st = std::get_if<stream_body>(&body)) {
            if (st->live) {  // a live stream (stream.hpp): its producer is the one to wrap
                st->live->producer = live_stream_producer(coding, std::move(st->live->producer), *st->live);
                return true;
            }
            res.body() = stream_body{stream_producer(coding, std::move(st->next)), nullptr};
            return true;
        }
        return set_compressed(coding, res, res.body_view(), identity_acceptable);
    }

    // The body becomes `in` compressed at once; false, the response left alone, when compressing
    // fails or saves nothing and the client takes the identity.
    bool set_compressed(content_coding coding, response& res, std::string_view in, bool identity_acceptable) const {
        std::string out;
        if (!detail::compress_whole(coding, opts_.level, opts_.brotli_quality, in, out) ||
            (out.size() >= in.size() && identity_acceptable))
            return false;
        res.set_body(std::move(out));
        return true;
    }

    // The application's pieces, each compressed and flushed as it comes.
    body_producer stream_producer(content_coding coding, body_producer next) const {
        auto e = std::make_shared<detail::encoder>(coding, opts_.level, opts_.brotli_quality);
        auto done = std::make_shared<bool>(false);
        return [e, done, next = std::move(next)]() mutable -> std::optional<std::string> {
            if (*done) return std::nullopt;
            std::string out;
            if (auto piece = next()) {
                e->write(*piece, true, out);
            } else {
                e->finish(out);
                *done = true;
            }
            return out;
        };
    }

    // A live stream's pieces, each compressed and flushed as it comes; "nothing yet" passes
    // through, so the stream still waits without a timeout. When the server stops, the
    // connection ends a stream whose producer has nothing more: the coding ends first (a gzip
    // member's trailer), or the client would take a cut-off body for a whole one. `channel` owns
    // the producer made here.
    live_producer live_stream_producer(content_coding coding, live_producer next,
                                       detail::stream_channel const& channel) const {
        auto e = std::make_shared<detail::encoder>(coding, opts_.level, opts_.brotli_quality);
        auto done = std::make_shared<bool>(false);
        return [e, done, next = std::move(next), stopping = &channel.stopping]() mutable -> stream_step {
            if (*done) return stream_step::end();
            auto step = next();
            std::string out;
            switch (step.kind) {
                case stream_step::kind_t::nothing_yet:
                    if (!stopping->load(std::memory_order_acquire)) return step;
                    e->finish(out);  // the connection ends the stream after this
                    *done = true;
                    break;
                case stream_step::kind_t::data: e->write(step.bytes, true, out); break;
                case stream_step::kind_t::end:
                    e->finish(out);
                    *done = true;
                    break;
            }
            return stream_step::data(std::move(out));  // empty: the connection asks again
        };
    }

    // A file read and compressed a block at a time: memory stays flat however large it is.
    body_producer file_producer(content_coding coding, file_body f) const {
        auto e = std::make_shared<detail::encoder>(coding, opts_.level, opts_.brotli_quality);
        auto done = std::make_shared<bool>(false);
        return [e, done, f = std::move(f)]() mutable -> std::optional<std::string> {
            std::string out, block;
            while (out.empty() && !*done) {
                if (f.length == 0) {
                    e->finish(out);
                    *done = true;
                    break;
                }
                block.resize(static_cast<std::size_t>(std::min<std::uint64_t>(f.length, 64 * 1024)));
                auto n = detail::read_file_at(f.fd ? f.fd->get() : -1, block.data(), block.size(), f.offset);
                if (n <= 0) throw std::runtime_error("porthole: a file to compress could not be read");
                block.resize(static_cast<std::size_t>(n));
                f.offset += static_cast<std::uint64_t>(n);
                f.length -= static_cast<std::uint64_t>(n);
                e->write(block, false, out);
            }
            if (out.empty()) return std::nullopt;
            return out;
        };
    }

    static constexpr std::uint64_t whole_file_limit = 256 * 1024;
    compression_options opts_;
};

// ---------------------------------------------------------------- request bodies

struct decompression_options {
    // The largest body the application may get once decoded: beyond it, 413. The parser's
    // max_body bounds the bytes on the wire, this the bytes they expand to (a few KiB of gzip
    // can hold gigabytes of zeros).
    std::size_t max_body = 1024 * 1024;
};

// Request bodies with Content-Encoding: gzip (or x-gzip) or deflate, decoded before the
// application sees them: it gets the decoded body, no Content-Encoding, and a Content-Length
// of the decoded size. Opt in by adding the layer: without it, bodies reach the application as
// they came. A body that does not decode is 400; one that decodes beyond max_body is 413,
// decided as the output grows, never after decoding it all; another coding, or several, 415
// with Accept-Encoding naming what is taken (RFC 9110 15.5.16). A request with no content
// passes as it came, whatever coding it names. Needs zlib.
class request_decompression {
public:
    template <int Used = 1>
    explicit request_decompression(decompression_options o = {}) : opts_(o) {
        static_assert(Used == 0 || built_in_codings.gzip,
                      "porthole::request_decompression needs zlib: build with PORTHOLE_WITH_ZLIB (-lz)");
    }

    struct state {
        std::string body;
        std::string length;
        std::vector<header_field> fields;
        bool decoded = false;
    };

    layer_result<state> before(request const& req) const {
        // The codings of every Content-Encoding line: one list (RFC 9110 section 5.3), of which
        // one coding is decoded; two lines are two codings, as "gzip, gzip" is.
        // Empty elements ("gzip,") are not codings (5.6.1).
        std::string_view coding;
        bool several = false;
        for (auto const& f : req.headers()) {
            if (!iequals(f.name, "Content-Encoding")) continue;
            for_each_list_item(f.value, [&](std::string_view item) {
                several = several || !coding.empty();
                coding = item;
            });
        }
        if (!several && (coding.empty() || iequals(coding, "identity"))) return state{};
        // A body refused for its size is not read: its 413 answers, nothing to decode.
        auto delivery = body_delivery_of(req);
        if (delivery == body_delivery::refused) return state{};
        // No content, nothing encoded (RFC 9110 8.4 codes content): a GET from a client that
        // names its coding on every request passes as it came.
        if (delivery == body_delivery::whole && req.body().empty()) return state{};
        bool gzip = iequals(coding, "gzip") || iequals(coding, "x-gzip");
        // A streamed body (body_stream.hpp) goes to its sink as it arrives, undecoded: refused
        // like a coding not decoded here, rather than handed on still encoded.
        bool streamed = delivery == body_delivery::offered;
        if (several || streamed || (!gzip && !iequals(coding, "deflate"))) {
            auto r = response::error(status::unsupported_media_type);
            r.set_header("Accept-Encoding", streamed ? "identity" : "gzip, deflate");
            return r;
        }
        state s;
        s.decoded = true;
        auto result = inflate_body(req.body(), gzip, s.body);
        if (result != status::ok) return response::error(result);
        return s;
    }

    request rewrite(state& s, request const& req) const {
        if (!s.decoded) return req;
        s.length = std::to_string(s.body.size());
        for (auto const& f : req.headers()) {
            if (iequals(f.name, "Content-Encoding") || iequals(f.name, "Content-Length") ||
                iequals(f.name, "Transfer-Encoding"))
                continue;  // the body is whole and decoded now: its length is the one framing
            s.fields.push_back(f);
        }
        s.fields.push_back({"Content-Length", s.length});
        return req.with_headers(s.fields).with_body(s.body);
    }

private:
#if defined(PORTHOLE_WITH_ZLIB)
    status inflate_body(std::string_view in, bool gzip, std::string& out) const {
        z_stream zs{};
        if (inflateInit2(&zs, gzip ? 15 + 16 : 15) != Z_OK) return status::internal_server_error;
        struct guard {
            z_stream& z;
            ~guard() { inflateEnd(&z); }
        } g{zs};
        zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        zs.avail_in = static_cast<uInt>(in.size());
        constexpr std::size_t room = 64 * 1024;
        for (;;) {
            std::size_t had = out.size();
            std::size_t grow = std::min(room, opts_.max_body + 1 - had);  // one byte beyond tells "too large"
            out.resize(had + grow);
            zs.next_out = reinterpret_cast<Bytef*>(out.data() + had);
            zs.avail_out = static_cast<uInt>(grow);
            int rc = inflate(&zs, Z_NO_FLUSH);
            out.resize(had + grow - zs.avail_out);
            if (out.size() > opts_.max_body) return status::content_too_large;
            if (rc == Z_STREAM_END) {
                if (zs.avail_in == 0) return status::ok;
                if (!gzip) return status::bad_request;  // bytes after the zlib stream
                inflateReset(&zs);                      // gzip: another member follows (RFC 1952 2.2)
                continue;
            }
            if (rc == Z_BUF_ERROR && zs.avail_in == 0) return status::bad_request;  // cut short
            if (rc != Z_OK && rc != Z_BUF_ERROR) return status::bad_request;
        }
    }
#else
    status inflate_body(std::string_view, bool, std::string&) const { return status::unsupported_media_type; }
#endif

    decompression_options opts_;
};

}  // namespace porthole

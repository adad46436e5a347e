// The everyday kit over arbitrary bytes: a connection whose application sits behind the request
// id, CORS, rate limit, compression, request decompression and authentication layers, fed the
// input as pipelined requests; and the helpers those layers parse headers with, fed the input
// as a header value.
//
// Checked: every response the application made arrives with the body it made, decoded through
// its Content-Encoding (gzip, deflate or br) when it has one, with Vary: Accept-Encoding then;
// a request body reaches the application no larger than the decompression limit; every answer
// that passed the layers carries a well-formed X-Request-Id; a 401 carries WWW-Authenticate; base64
// decoding accepts only what encoding gives back (padding aside in the url alphabet); Accept-Encoding negotiation
// picks only what is offered, and identity without the field; the loopback Host check and the
// listening-address parser take anything without failing.
//
// Input layout: a control byte, then the bytes (fed whole to the connection, and used as a
// header value for the helpers).
//   bit 0: Basic authentication (user "u", password "p")
//   bit 1: the one-time token ("t0k3n")
//   bit 2: Bearer ("t0k3n")
//   bit 3: a tight rate limit (2 at once)
//   bits 4-5: request decompression with a limit of 64, 4096 or 65536 bytes, or none
//   bit 6: compress bodies of any size
//   bit 7: CORS for any origin, instead of a list with credentials
#include "fuzz_support.hpp"

#include <porthole/auth.hpp>
#include <porthole/compression.hpp>
#include <porthole/cors.hpp>
#include <porthole/rate_limit.hpp>
#include <porthole/request_id.hpp>
#include <porthole/server.hpp>
#include <porthole/testing.hpp>

#include <brotli/decode.h>
#include <zlib.h>

#include <string>
#include <vector>

namespace fuzz_kit {

using namespace porthole;

struct recording_app {
    std::vector<std::string>* made;
    std::size_t* largest_body;  // of the bodies that came encoded: those request_decompression bounds
    bool const* encoded;        // this request came with a Content-Encoding
    response operator()(request const& r) const {
        if (*encoded && r.body().size() > *largest_body) *largest_body = r.body().size();
        std::string body(r.body());
        while (body.size() < 300) body.append(r.path());  // something worth compressing
        auto index = std::to_string(made->size());
        made->push_back(body);
        auto p = r.path();
        response res = p.starts_with("/stream")
                           ? response::stream(
                                 [body, at = std::size_t{0}]() mutable -> std::optional<std::string> {
                                     if (at >= body.size()) return std::nullopt;
                                     auto piece = body.substr(at, 100);
                                     at += 100;
                                     return piece;
                                 },
                                 "text/plain")
                       : p.starts_with("/bin") ? response::static_text("", "application/octet-stream")
                                               : response::text(body);
        if (p.starts_with("/bin")) res.set_body(body);
        res.set_header("X-App", index);
        res.set_header("ETag", "\"v" + index + "\"");
        return res;
    }
};

inline std::string decode(std::string_view coding, std::string_view body) {
    if (coding == "br") {
        std::string out(1 << 20, '\0');
        std::size_t size = out.size();
        FUZZ_CHECK(BrotliDecoderDecompress(body.size(), reinterpret_cast<std::uint8_t const*>(body.data()), &size,
                                           reinterpret_cast<std::uint8_t*>(out.data())) ==
                   BROTLI_DECODER_RESULT_SUCCESS);
        out.resize(size);
        return out;
    }
    FUZZ_CHECK(coding == "gzip" || coding == "deflate");
    z_stream zs{};
    FUZZ_CHECK(inflateInit2(&zs, coding == "gzip" ? 15 + 16 : 15) == Z_OK);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
    zs.avail_in = static_cast<uInt>(body.size());
    std::string out;
    int rc = Z_OK;
    while (rc == Z_OK) {
        char buf[4096];
        zs.next_out = reinterpret_cast<Bytef*>(buf);
        zs.avail_out = sizeof buf;
        rc = inflate(&zs, Z_NO_FLUSH);
        out.append(buf, sizeof buf - zs.avail_out);
    }
    inflateEnd(&zs);
    FUZZ_CHECK(rc == Z_STREAM_END && zs.avail_in == 0);
    return out;
}

inline void helpers(std::string_view value) {
    for (auto a : {base64::alphabet::standard, base64::alphabet::url}) {
        std::string out = "x";
        if (base64::decode(value, out, a)) {
            auto again = base64::encode(std::string_view(out).substr(1), a);
            // The url alphabet encodes without padding, and decodes with or without it.
            if (a == base64::alphabet::standard) FUZZ_CHECK(again == value);
            else FUZZ_CHECK(again == value.substr(0, value.find('=')));
        } else {
            FUZZ_CHECK(out == "x");
        }
    }
    header_field field{"Accept-Encoding", value};
    std::span<header_field const> fields(&field, 1);
    coding_set offer{value.size() % 2 == 0, true, value.size() % 3 == 0};
    auto choice = choose_encoding(fields, offer);
    FUZZ_CHECK(choice.coding == content_coding::identity || offer.contains(choice.coding));
    FUZZ_CHECK(choose_encoding({}, offer).coding == content_coding::identity);
    (void)detail::is_local_host(value, {});
    try {
        (void)detail::parse_listen_address(value);
    } catch (std::invalid_argument const&) {}
}

inline void one_input(std::uint8_t const* data, std::size_t size) {
    fuzz_support::input in(data, size);
    auto control = in.byte();
    auto bytes = in.rest();
    helpers(bytes);

    std::vector<std::string> made;
    std::size_t largest = 0;
    bool encoded = false;
    std::size_t const limits[] = {64, 4096, 65536, 0};
    std::size_t limit = limits[(control >> 4) & 3];
    auto on = [](bool flag) { return [flag](request const&) { return flag; }; };
    cors_options cors_opts;
    if (control & 0x80) {
        cors_opts.origins = {"*"};  // never with credentials (the constructor refuses them)
    } else {
        cors_opts.origins = {"http://a.example"};
        cors_opts.credentials = true;
    }
    auto app = layers{
        request_id{},
        cors(cors_opts),
        compression({.min_size = control & 0x40 ? 0u : 1024u}),
        when(on(control & 8), rate_limit({.rate = 1e-6, .burst = 2})),
        when(on(control & 1), basic_auth("r", "u", "p")),
        when(on(control & 2), access_token({.token = "t0k3n"})),
        when(on(control & 4), bearer_auth("r", [](std::string_view t) { return t == "t0k3n"; })),
        when(
            [&encoded, limit](request const& r) {
                auto coding = detail::trim_ows(r.header("Content-Encoding").value_or(""));
                encoded = !coding.empty() && !iequals(coding, "identity");
                return limit != 0;
            },
            request_decompression({.max_body = limit ? limit : 1})),
    }(recording_app{&made, &largest, &encoded});

    std::vector<access_entry> entries;
    std::vector<bool> head, retrieval, error;
    connection_config config;
    // An entry written with no request served since the previous one is the connection's own
    // answer (its method and target name the request when its head was read), before any layer;
    // no answer to HEAD has content, the connection's own included.
    testing::client<decltype(app)>* client = nullptr;
    std::size_t served_logged = 0;
    config.access_log = [&](access_entry const& e) {
        auto served = client ? client->conn().requests_served() : 0;
        error.push_back(served == served_logged);
        head.push_back(e.method == "HEAD");
        retrieval.push_back(e.method == "GET" || e.method == "HEAD");
        served_logged = served;
    };
    config.error_log = [](std::string_view) {};
    testing::client<decltype(app)> c(app, config);
    client = &c;
    c.send(bytes).close_input();
    auto responses = c.responses(head);
    FUZZ_CHECK(responses.size() <= head.size());

    if (limit) FUZZ_CHECK(largest <= limit);
    std::size_t next_made = 0;
    for (std::size_t i = 0; i < responses.size(); ++i) {
        auto const& r = responses[i];
        if (!r.complete) break;  // cut short: the stream or the input ended
        // The connection answers a 501 and a 421 (a target of another scheme) itself, before any layer.
        if (!error[i] && r.status != 501 && r.status != 421) {
            auto id = r.header("X-Request-Id").value_or("");
            FUZZ_CHECK(!id.empty() && id.size() <= 128);
            for (char ch : id) FUZZ_CHECK(ch > ' ' && ch < 127);
        }
        if (r.status == 401) FUZZ_CHECK(r.header("WWW-Authenticate").has_value());
        auto made_by = r.header("X-App");
        if (!made_by) continue;
        auto index = std::stoul(std::string(*made_by));
        FUZZ_CHECK(index >= next_made && index < made.size());
        next_made = index + 1;
        if (head[i]) continue;
        auto coding = r.header("Content-Encoding").value_or("");
        if (coding.empty()) {
            FUZZ_CHECK(r.body == made[index]);
        } else {
            FUZZ_CHECK(list_contains(r.header("Vary").value_or(""), "Accept-Encoding"));
            // Weak when it names the body sent (a GET's); another method's names what it stored.
            FUZZ_CHECK(r.header("ETag").value_or("").starts_with("W/") == retrieval[i]);
            FUZZ_CHECK(decode(coding, r.body) == made[index]);
        }
    }
}

}  // namespace fuzz_kit

PORTHOLE_FUZZ_ENTRY(fuzz_kit)

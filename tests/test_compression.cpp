// Response compression, request decompression (zip bombs
// included) and precompressed static files. Bodies are decoded with zlib and libbrotlidec here,
// independently of the encoder under test.
#include <porthole/body_stream.hpp>
#include <porthole/compression.hpp>
#include <porthole/router.hpp>
#include <porthole/static_files.hpp>
#include <porthole/testing.hpp>

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <sys/time.h>
#include <zlib.h>
#if defined(PORTHOLE_WITH_BROTLI)
#include <brotli/decode.h>
#endif

using namespace porthole;
using porthole::testing::simple_request;

namespace {

// zlib: windowBits 15 + 32 takes gzip and zlib streams alike; `gzip` says which must come.
std::string inflate_all(std::string_view in, bool gzip) {
    z_stream zs{};
    REQUIRE(inflateInit2(&zs, gzip ? 15 + 16 : 15) == Z_OK);
    std::string out;
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    int rc = Z_OK;
    while (rc == Z_OK) {
        char buf[16384];
        zs.next_out = reinterpret_cast<Bytef*>(buf);
        zs.avail_out = sizeof buf;
        rc = inflate(&zs, Z_SYNC_FLUSH);
        out.append(buf, sizeof buf - zs.avail_out);
        if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;
    }
    inflateEnd(&zs);
    return out;
}

std::string decode(std::string_view coding, std::string_view body) {
    if (coding == "gzip") return inflate_all(body, true);
    if (coding == "deflate") return inflate_all(body, false);
#if defined(PORTHOLE_WITH_BROTLI)
    if (coding == "br") {
        std::string out(body.size() * 50 + 1024, '\0');
        std::size_t size = out.size();
        REQUIRE(BrotliDecoderDecompress(body.size(), reinterpret_cast<std::uint8_t const*>(body.data()), &size,
                                        reinterpret_cast<std::uint8_t*>(out.data())) == BROTLI_DECODER_RESULT_SUCCESS);
        out.resize(size);
        return out;
    }
#endif
    return std::string(body);
}

std::string gzip_of(std::string_view in) {
    std::string out;
    REQUIRE(detail::compress_whole(content_coding::gzip, 6, 5, in, out));
    return out;
}

std::string page(std::size_t n) {
    std::string s;
    while (s.size() < n) s += "<tr><td>job-" + std::to_string(s.size()) + "</td><td>ok</td></tr>\n";
    s.resize(n);
    return s;
}

}  // namespace

TEST_CASE("compression: each coding decodes to the body, with Vary, a weak ETag and no Accept-Ranges") {
    auto body = page(20000);
    auto app = layers{compression{}}([&](request const&) {
        auto r = response::html(body);
        r.set_header("ETag", "\"v1\"");
        r.set_header("Accept-Ranges", "bytes");
        return r;
    });
    for (auto coding : {"gzip", "deflate", "br"}) {
        if (std::string_view(coding) == "br" && !built_in_codings.br) continue;
        CAPTURE(coding);
        auto r = testing::send(app, simple_request{method::get, "/", {{"Accept-Encoding", coding}}, {}});
        CHECK(r.status == 200);
        CHECK(r.header("Content-Encoding") == coding);
        CHECK(r.header("Vary") == "Accept-Encoding");
        CHECK(r.header("ETag") == "W/\"v1\"");
        CHECK_FALSE(r.header("Accept-Ranges").has_value());
        CHECK(r.header("Content-Type") == "text/html; charset=utf-8");
        CHECK(r.body.size() < body.size() / 4);
        CHECK(r.header("Content-Length") == std::to_string(r.body.size()));
        CHECK(decode(coding, r.body) == body);
    }
    auto plain = testing::get(app, "/");  // no Accept-Encoding: as it is, but still Vary
    CHECK_FALSE(plain.header("Content-Encoding").has_value());
    CHECK(plain.body == body);
    CHECK(plain.header("Vary") == "Accept-Encoding");
    CHECK(plain.header("ETag") == "\"v1\"");
}

TEST_CASE("compression leaves alone: small bodies, other types, 206, 304, 204, encoded and no-transform responses") {
    auto app = layers{compression({.level = 9})}([](request const& req) -> response {
        auto p = req.path();
        if (p == "/small") return response::text("short");
        static std::string const png = "\x89PNG" + std::string(4000, 'x');
        if (p == "/png") return response::static_text(png, "image/png");
        if (p == "/partial") {
            auto r = response::text(std::string(4000, 'a'), status::partial_content);
            r.set_header("Content-Range", "bytes 0-3999/8000");
            return r;
        }
        if (p == "/304") return status::not_modified;
        if (p == "/204") return status::no_content;
        if (p == "/encoded") {
            auto r = response::text(std::string(4000, 'z'));
            r.set_header("Content-Encoding", "gzip");
            return r;
        }
        if (p == "/no-transform") {
            auto r = response::text(std::string(4000, 'n'));
            r.set_header("Cache-Control", "public, no-transform");
            return r;
        }
        if (p == "/no-transform-second-line" || p == "/encoded-second-line") {  // as a gateway copies lines
            auto r = response::text(std::string(4000, 'n'));
            bool cc = p == "/no-transform-second-line";
            r.add_header(cc ? "Cache-Control" : "Content-Encoding", "");
            r.add_header(cc ? "Cache-Control" : "Content-Encoding", cc ? "No-Transform" : "br");
            return r;
        }
        return response::text(std::string(4000, 'b'));
    });
    auto get = [&](std::string target, std::string ae = "gzip", method m = method::get) {
        return testing::send(app, simple_request{m, target, {{"Accept-Encoding", ae}}, {}});
    };
    CHECK_FALSE(get("/small").header("Content-Encoding").has_value());
    CHECK(get("/small").header("Vary") == "Accept-Encoding");
    CHECK(get("/small", "gzip, identity;q=0").header("Content-Encoding") ==
          "gzip");  // identity refused: compressed anyway
    CHECK(decode("gzip", get("/small", "gzip, identity;q=0").body) == "short");
    CHECK_FALSE(get("/png").header("Content-Encoding").has_value());
    CHECK_FALSE(get("/png").header("Vary").has_value());
    // HEAD: the head its GET gets (RFC 9110 9.3.2), its Content-Length the compressed one.
    testing::client c(app);
    c.send(
        "HEAD /big HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n"
        "GET /big HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n");
    auto both = c.responses({true, false});
    REQUIRE(both.size() == 2);
    CHECK(both[0].header("Content-Encoding") == "gzip");
    CHECK(both[0].header("Content-Length") == both[1].header("Content-Length"));
    CHECK(both[0].header("Content-Length") != "4000");
    CHECK(both[0].header("Vary") == "Accept-Encoding");
    CHECK(both[0].body.empty());
    CHECK(decode("gzip", both[1].body) == std::string(4000, 'b'));
    CHECK_FALSE(get("/partial").header("Content-Encoding").has_value());
    CHECK(get("/304").status == 304);
    CHECK(get("/304").header("Vary") == "Accept-Encoding");
    CHECK_FALSE(get("/204").header("Content-Encoding").has_value());
    CHECK(get("/encoded").body == std::string(4000, 'z'));
    CHECK_FALSE(get("/no-transform").header("Content-Encoding").has_value());
    // Lines of one name are one list (RFC 9110 5.3): no-transform or a coding on a second line.
    CHECK(get("/no-transform-second-line").body == std::string(4000, 'n'));
    CHECK(get("/encoded-second-line").body == std::string(4000, 'n'));
    auto big = get("/big");
    CHECK(big.header("Content-Encoding") == "gzip");
    CHECK(decode("gzip", big.body) == std::string(4000, 'b'));
}

TEST_CASE("a body that compression would make larger goes as it is") {
    std::mt19937 rng(7);
    std::string noise(5000, '\0');
    for (auto& c : noise) c = static_cast<char>(rng());
    auto app = layers{compression{}}([&](request const&) { return response::text(noise); });
    auto r = testing::send(app, simple_request{method::get, "/", {{"Accept-Encoding", "gzip"}}, {}});
    CHECK_FALSE(r.header("Content-Encoding").has_value());
    CHECK(r.body == noise);
    CHECK(r.header("Vary") == "Accept-Encoding");
}

TEST_CASE("a streamed body is compressed as it streams: each piece decodes once it is out") {
    int made = 0;
    auto app = layers{compression{}}([&](request const&) {
        return response::stream(
            [&made]() -> std::optional<std::string> {
                if (made == 5) return std::nullopt;
                return "event " + std::to_string(made++) + "\n";
            },
            "text/plain");
    });
    for (auto coding : {"gzip", "br"}) {
        if (std::string_view(coding) == "br" && !built_in_codings.br) continue;
        made = 0;
        testing::client c(app);
        c.conn().feed(
            std::string_view(std::string("GET / HTTP/1.1\r\nHost: t\r\nAccept-Encoding: ") + coding + "\r\n\r\n"));
        // Take the head and the first piece only: it must decode on its own, before the stream ends.
        std::string wire;
        auto chunks = c.conn().pending_output();  // the head, then the first piece's chunk
        REQUIRE(!chunks.empty());
        for (auto const& chunk : chunks) wire.append(chunk.memory);
        c.conn().written(wire.size());
        CHECK(made == 1);
        auto head_end = wire.find("\r\n\r\n");
        REQUIRE(head_end != std::string::npos);
        CHECK(wire.find("Content-Encoding: " + std::string(coding)) < head_end);
        CHECK(wire.find("Transfer-Encoding: chunked") < head_end);
        auto chunk = wire.substr(head_end + 4);
        auto size_end = chunk.find("\r\n");
        auto piece = chunk.substr(size_end + 2, std::strtoul(chunk.c_str(), nullptr, 16));
        if (std::string_view(coding) == "gzip") CHECK(inflate_all(piece, true) == "event 0\n");
        c.send("");
        auto r = testing::parse_responses(wire + c.output());
        REQUIRE(r.size() == 1);
        CHECK(decode(coding, r[0].body) == "event 0\nevent 1\nevent 2\nevent 3\nevent 4\n");
    }
}

TEST_CASE("a compressed live stream ended by the server stopping ends its coding too (gzip's trailer)") {
    // The connection ended the stream itself when its producer had nothing more: the terminator
    // came after a gzip member with no end, a cut-off body that looked whole.
    for (auto coding : {"gzip", "deflate"}) {
        CAPTURE(coding);
        std::vector<stream_writer> writers;
        auto app = layers{compression({.min_size = 1})}([&](request const&) {
            auto [res, writer] = push_stream("text/plain");
            writers.push_back(writer);
            return std::move(res);
        });
        testing::client c(app);
        c.send(std::string("GET / HTTP/1.1\r\nHost: t\r\nAccept-Encoding: ") + coding + "\r\n\r\n");
        REQUIRE(writers.size() == 1);
        REQUIRE(writers[0].write("last words before the stop\n") == stream_writer::result::written);
        c.stop();
        auto rs = c.responses();
        REQUIRE(rs.size() == 1);
        CHECK(rs[0].complete);
        CHECK(rs[0].header("Content-Encoding").value_or("") == coding);
        // The whole coded stream, to its end: zlib's inflate says Z_STREAM_END.
        z_stream zs{};
        REQUIRE(inflateInit2(&zs, std::string_view(coding) == "gzip" ? 15 + 16 : 15) == Z_OK);
        std::string const& body = rs[0].body;
        zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
        zs.avail_in = static_cast<uInt>(body.size());
        char out[256];
        zs.next_out = reinterpret_cast<Bytef*>(out);
        zs.avail_out = sizeof out;
        int rc = inflate(&zs, Z_FINISH);
        CHECK(rc == Z_STREAM_END);
        CHECK(std::string(out, sizeof out - zs.avail_out) == "last words before the stop\n");
        inflateEnd(&zs);
    }
}

TEST_CASE("a large file body is compressed block by block, a small one at once") {
    char tmpl[] = "/tmp/porthole-compress-XXXXXX";
    int fd = ::mkstemp(tmpl);
    REQUIRE(fd >= 0);
    auto text = page(300000);
    REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    ::close(fd);
    std::string path = tmpl;
    auto app = layers{compression{}}([&](request const&) { return *response::file(path, "text/plain"); });
    auto r = testing::send(app, simple_request{method::get, "/", {{"Accept-Encoding", "gzip"}}, {}});
    CHECK(r.header("Content-Encoding") == "gzip");
    CHECK(r.header("Transfer-Encoding") == "chunked");
    CHECK(decode("gzip", r.body) == text);
    // Up to 256 KiB: read and compressed at once, with a Content-Length.
    REQUIRE(::truncate(tmpl, 100000) == 0);
    r = testing::send(app, simple_request{method::get, "/", {{"Accept-Encoding", "gzip"}}, {}});
    ::unlink(tmpl);
    CHECK(r.header("Content-Encoding") == "gzip");
    CHECK(r.header("Content-Length") == std::to_string(r.body.size()));
    CHECK(decode("gzip", r.body) == text.substr(0, 100000));
}

// ---------------------------------------------------------------- request bodies

TEST_CASE("request_decompression hands the application the decoded body, without Content-Encoding") {
    std::string seen_body, seen_length;
    bool seen_encoding = true;
    auto app = layers{request_decompression{}}([&](request const& req) {
        seen_body = req.body();
        seen_encoding = req.header("Content-Encoding").has_value();
        seen_length = req.header("Content-Length").value_or("");
        return "ok";
    });
    auto json = std::string(R"({"name": "chair"})");
    auto r = testing::send(app, simple_request{method::post, "/", {{"Content-Encoding", "gzip"}}, gzip_of(json)});
    CHECK(r.status == 200);
    CHECK(seen_body == json);
    CHECK_FALSE(seen_encoding);
    CHECK(seen_length == std::to_string(json.size()));
    // Two gzip members one after the other are one body (RFC 1952 2.2).
    r = testing::send(
        app, simple_request{method::post, "/", {{"Content-Encoding", "x-gzip"}}, gzip_of("ab") + gzip_of("cd")});
    CHECK(seen_body == "abcd");
    std::string zlib;
    REQUIRE(detail::compress_whole(content_coding::deflate, 6, 5, json, zlib));
    r = testing::send(app, simple_request{method::post, "/", {{"Content-Encoding", "deflate"}}, zlib});
    CHECK(seen_body == json);
    r = testing::send(app, simple_request{method::post, "/", {}, "plain"});
    CHECK(seen_body == "plain");
    CHECK(seen_length == "5");
}

TEST_CASE("request_decompression: a zip bomb is 413 without being decoded whole; bad data 400; other codings 415") {
    int calls = 0;
    auto app = layers{request_decompression({.max_body = 64 * 1024})}([&](request const&) {
        ++calls;
        return "ok";
    });
    auto bomb = gzip_of(std::string(64u << 20, '\0'));  // 64 MiB of zeros in about 64 KiB
    CHECK(bomb.size() < 100 * 1024);
    auto r = testing::send(app, simple_request{method::post, "/", {{"Content-Encoding", "gzip"}}, bomb});
    CHECK(r.status == 413);
    auto exact = gzip_of(std::string(64 * 1024, 'x'));
    CHECK(testing::send(app, simple_request{method::post, "/", {{"Content-Encoding", "gzip"}}, exact}).status == 200);
    auto over = gzip_of(std::string(64 * 1024 + 1, 'x'));
    CHECK(testing::send(app, simple_request{method::post, "/", {{"Content-Encoding", "gzip"}}, over}).status == 413);
    auto good = gzip_of("hello");
    for (std::string bad :
         {std::string("not gzip at all"), good.substr(0, good.size() - 4), good + "trailing", good.substr(0, 10)}) {
        CHECK(testing::send(app, simple_request{method::post, "/", {{"Content-Encoding", "gzip"}}, bad}).status == 400);
    }
    for (auto coding : {"br", "compress", "gzip, gzip", "gzip,, br", "identity, gzip"}) {
        r = testing::send(app, simple_request{method::post, "/", {{"Content-Encoding", coding}}, good});
        CHECK(r.status == 415);
        CHECK(r.header("Accept-Encoding") == "gzip, deflate");
    }
    // Empty list elements are not codings (RFC 9110 5.6.1): these name gzip alone.
    for (auto coding : {"gzip,", ", gzip", " ,gzip , ,"}) {
        CAPTURE(coding);
        r = testing::send(app, simple_request{method::post, "/", {{"Content-Encoding", coding}}, gzip_of(good)});
        CHECK(r.status == 200);
    }
    // Two field lines are one list of two codings (RFC 9110 5.3): 415, however they are split.
    for (auto second : {"gzip", "br", "identity"}) {
        r = testing::send(
            app, simple_request{
                     method::post, "/", {{"Content-Encoding", "gzip"}, {"Content-Encoding", second}}, gzip_of(good)});
        CHECK(r.status == 415);
    }
    CHECK(calls == 4);  // the exact one, and the three with empty elements
}

TEST_CASE("request_decompression: a request with no content passes as it came, whatever coding it names") {
    std::string seen;
    auto app = layers{request_decompression{}}([&](request const& req) {
        seen = std::string(req.method_name()) + " [" + std::string(req.body()) + "] " +
               std::string(req.header("Content-Encoding").value_or("none"));
        return "ok";
    });
    for (auto coding : {"gzip", "deflate", "br", "gzip, gzip"}) {
        CAPTURE(coding);
        for (auto m : {method::get, method::head, method::delete_, method::post}) {
            simple_request req{m, "/", {{"Content-Encoding", coding}}, {}};
            if (m == method::post) req.headers.emplace_back("Content-Length", "0");
            auto r = testing::send(app, req);
            CHECK(r.status == 200);
            CHECK(seen == std::string(to_string(m)) + " [] " + coding);
        }
    }
    // One byte is content: it must decode.
    CHECK(testing::send(app, simple_request{method::post, "/", {{"Content-Encoding", "gzip"}}, "x"}).status == 400);
    CHECK(testing::send(app, simple_request{method::post, "/", {{"Content-Encoding", "br"}}, "x"}).status == 415);
}

TEST_CASE("request_decompression: a chunked body decoded has one framing; a streamed route's encoded body is 415") {
    std::string seen_body;
    bool seen_chunked = true;
    auto app = layers{request_decompression{}}(router{
        post<"/whole">([&](request const& req) {
            seen_body = req.body();
            seen_chunked = req.header("Transfer-Encoding").has_value();
            return response::text(std::string(req.header("Content-Length").value_or("none")));
        }),
        post<"/stream">(streamed_body({.max_size = 1 << 20},
                                      [](request const& req) -> response {
                                          struct counter {
                                              std::size_t n = 0;
                                              void data(std::string_view p) { n += p.size(); }
                                              response end() { return response::text(std::to_string(n)); }
                                          };
                                          return take_body(req, counter{});
                                      })),
    });
    auto gz = gzip_of("decoded body");
    char size_line[32];
    std::snprintf(size_line, sizeof size_line, "%zx\r\n", gz.size());
    testing::client c(app);
    c.send("POST /whole HTTP/1.1\r\nHost: t\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" +
           std::string(size_line) + gz + "\r\n0\r\n\r\n");
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].body == "12");
    CHECK(seen_body == "decoded body");
    CHECK_FALSE(seen_chunked);
    testing::client d(app);
    d.send("POST /stream HTTP/1.1\r\nHost: t\r\nContent-Encoding: gzip\r\nContent-Length: " +
           std::to_string(gz.size()) + "\r\n\r\n" + gz);
    rs = d.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 415);
    CHECK(rs[0].header("Accept-Encoding") == "identity");
    testing::client e(app);  // unencoded, it streams as usual
    e.send("POST /stream HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
    rs = e.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].body == "5");
    // An encoded body over the connection's limit is not read: its 413, not a failure to
    // decode the nothing that was read (400).
    connection_config small;
    small.limits.max_body = 8;
    testing::client f(app, small);
    f.send("POST /whole HTTP/1.1\r\nHost: t\r\nContent-Encoding: gzip\r\nContent-Length: " + std::to_string(gz.size()) +
           "\r\n\r\n" + gz);
    rs = f.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 413);
    CHECK(seen_body == "decoded body");  // from the first request: the handler did not run again
}

// ---------------------------------------------------------------- precompressed static files

TEST_CASE("static files: NAME.br and NAME.gz made ahead of time are served when taken and fresh") {
    char tmpl[] = "/tmp/porthole-precompressed-XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    std::string dir = tmpl;
    auto write = [&](std::string name, std::string_view data, long mtime) {
        std::ofstream(dir + "/" + name, std::ios::binary) << data;
        timeval times[2] = {{mtime, 0}, {mtime, 0}};
        REQUIRE(::utimes((dir + "/" + name).c_str(), times) == 0);
    };
    auto js = page(5000);
    write("app.js", js, 1000);
    write("app.js.gz", gzip_of(js), 1000);
    write("app.js.br", "BROTLI", 1001);
    write("old.css", "body{}", 2000);
    write("old.css.gz", gzip_of("stale"), 1000);  // older than old.css: ignored
    write("plain.txt", "just text", 1000);
    static_files files(dir, {.precompressed = true});
    auto get = [&](std::string target, std::string ae, std::vector<std::pair<std::string, std::string>> more = {}) {
        more.emplace_back("Accept-Encoding", ae);
        return testing::send(files, simple_request{method::get, target, more, {}});
    };
    auto br = get("/app.js", "gzip, br");
    CHECK(br.header("Content-Encoding") == "br");
    CHECK(br.body == "BROTLI");
    CHECK(br.header("Content-Type") == "text/javascript; charset=utf-8");
    CHECK(br.header("Vary") == "Accept-Encoding");
    auto gz = get("/app.js", "gzip");
    CHECK(gz.header("Content-Encoding") == "gzip");
    CHECK(decode("gzip", gz.body) == js);
    CHECK(gz.header("ETag") != br.header("ETag"));
    auto plain = get("/app.js", "identity");
    CHECK_FALSE(plain.header("Content-Encoding").has_value());
    CHECK(plain.body == js);
    CHECK(plain.header("Vary") == "Accept-Encoding");
    CHECK(plain.header("ETag") != gz.header("ETag"));
    CHECK(get("/app.js", "br;q=0, gzip").header("Content-Encoding") == "gzip");
    // A conditional request on the compressed representation, and a range of its bytes.
    auto again = get("/app.js", "gzip", {{"If-None-Match", std::string(gz.header("ETag").value_or(""))}});
    CHECK(again.status == 304);
    CHECK(again.header("Vary") == "Accept-Encoding");
    auto part = get("/app.js", "gzip", {{"Range", "bytes=0-9"}});
    CHECK(part.status == 206);
    CHECK(part.header("Content-Encoding") == "gzip");
    CHECK(part.body == gz.body.substr(0, 10));
    // Stale or absent variants: the file itself.
    auto css = get("/old.css", "gzip");
    CHECK_FALSE(css.header("Content-Encoding").has_value());
    CHECK(css.body == "body{}");
    CHECK_FALSE(get("/plain.txt", "gzip, br").header("Content-Encoding").has_value());
    // Off by default.
    static_files off(dir);
    auto o = testing::send(off, simple_request{method::get, "/app.js", {{"Accept-Encoding", "gzip, br"}}, {}});
    CHECK_FALSE(o.header("Content-Encoding").has_value());
    CHECK_FALSE(o.header("Vary").has_value());
    std::system(("rm -rf '" + dir + "'").c_str());
}

TEST_CASE("the compression layer over static files compresses those without a variant, never twice") {
    char tmpl[] = "/tmp/porthole-precompressed-XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    std::string dir = tmpl;
    auto html = page(8000);
    std::ofstream(dir + "/index.html") << html;
    std::ofstream(dir + "/data.json") << page(3000);
    std::ofstream(dir + "/data.json.gz", std::ios::binary) << gzip_of(page(3000));
    auto app = layers{compression{}}(static_files(dir, {.precompressed = true}));
    auto r = testing::send(app, simple_request{method::get, "/", {{"Accept-Encoding", "gzip"}}, {}});
    CHECK(r.header("Content-Encoding") == "gzip");
    CHECK(decode("gzip", r.body) == html);
    CHECK(r.header("ETag").value_or("").starts_with("W/\""));
    r = testing::send(app, simple_request{method::get, "/data.json", {{"Accept-Encoding", "gzip"}}, {}});
    CHECK(r.header("Content-Encoding") == "gzip");
    CHECK(decode("gzip", r.body) == page(3000));
    CHECK(r.header("ETag").value_or("").starts_with("\""));  // the file's own, strong: it was not compressed here
    CHECK(r.header("Vary") == "Accept-Encoding");
    // A precompressed variant's 304, asked by date alone: the variant's own strong ETag, as its 200.
    std::string data_etag(r.header("ETag").value_or(""));
    auto since = std::string(r.header("Last-Modified").value_or(""));
    r = testing::send(
        app,
        simple_request{method::get, "/data.json", {{"Accept-Encoding", "gzip"}, {"If-Modified-Since", since}}, {}});
    CHECK(r.status == 304);
    CHECK(r.header("ETag") == data_etag);
    CHECK(r.header("Vary") == "Accept-Encoding");
    std::system(("rm -rf '" + dir + "'").c_str());
}

TEST_CASE("a 304 behind the compression layer carries the ETag the client's 200 had: weak when it was compressed") {
    char tmpl[] = "/tmp/porthole-revalidate-XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    std::string dir = tmpl;
    std::ofstream(dir + "/index.html") << page(8000);
    auto app = layers{compression{}}(static_files(dir));
    auto get = [&](std::vector<std::pair<std::string, std::string>> headers) {
        return testing::send(app, simple_request{method::get, "/index.html", std::move(headers), {}});
    };
    auto compressed = get({{"Accept-Encoding", "gzip"}});
    auto plain = get({});
    REQUIRE(compressed.header("Content-Encoding") == "gzip");
    std::string weak(compressed.header("ETag").value_or("")), strong(plain.header("ETag").value_or(""));
    REQUIRE(weak == "W/" + strong);

    auto r = get({{"Accept-Encoding", "gzip"}, {"If-None-Match", weak}});  // a cache holding the gzip body
    CHECK(r.status == 304);
    CHECK(r.header("ETag") == weak);
    CHECK(r.header("Vary") == "Accept-Encoding");
    r = get({{"Accept-Encoding", "gzip"}, {"If-None-Match", "\"other\", " + weak}});  // a list, across lines too
    CHECK(r.header("ETag") == weak);
    r = get({{"Accept-Encoding", "gzip"}, {"If-None-Match", "\"other\""}, {"If-None-Match", weak}});
    CHECK(r.status == 304);
    CHECK(r.header("ETag") == weak);
    r = get({{"Accept-Encoding", "gzip"},
             {"If-None-Match", "bogus"},
             {"If-None-Match", weak}});  // the lines are one list: a bad one spoils it (RFC 9110 5.3)
    CHECK(r.status == 200);
    CHECK(r.header("ETag") == weak);  // the compressed body's
    r = get({{"Accept-Encoding", "gzip"}, {"If-None-Match", "\"unterminated"}, {"If-None-Match", weak}});
    CHECK(r.header("ETag") == weak);
    r = get({{"Accept-Encoding", "gzip"}, {"If-None-Match", strong}});  // it holds the identity body
    CHECK(r.status == 304);
    CHECK(r.header("ETag") == strong);
    r = get({{"If-None-Match", weak}});  // no coding taken: the 200 would be the identity one
    CHECK(r.status == 304);
    CHECK(r.header("ETag") == strong);
    // "*" names no tag: the ETag of the 200 this request would get, as by date.
    r = get({{"Accept-Encoding", "gzip"}, {"If-None-Match", "*"}});
    CHECK(r.status == 304);
    CHECK(r.header("ETag") == weak);
    r = get({{"If-None-Match", " * "}});
    CHECK(r.status == 304);
    CHECK(r.header("ETag") == strong);
    // By date alone: the ETag of the 200 this request would get, the compressed one's.
    auto last_modified = std::string(compressed.header("Last-Modified").value_or(""));
    r = get({{"Accept-Encoding", "gzip"}, {"If-Modified-Since", last_modified}});
    CHECK(r.status == 304);
    CHECK(r.header("ETag") == weak);
    CHECK(r.header("Vary") == "Accept-Encoding");
    CHECK(!r.header("Content-Type"));  // the type static_files gives its 304 is not sent
    r = get({{"If-Modified-Since", last_modified}});
    CHECK(r.status == 304);
    CHECK(r.header("ETag") == strong);
    // A range: identity bytes, but about a representation the layer negotiates.
    r = get({{"Accept-Encoding", "gzip"}, {"Range", "bytes=0-9"}});
    CHECK(r.status == 206);
    CHECK(!r.header("Content-Encoding"));
    CHECK(r.header("ETag") == strong);
    CHECK(r.header("Vary") == "Accept-Encoding");
    std::system(("rm -rf '" + dir + "'").c_str());
}

TEST_CASE("behind the compression layer, If-Match gets the identity body its strong tag names, or 412") {
    char tmpl[] = "/tmp/porthole-if-match-XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    std::string dir = tmpl;
    std::ofstream(dir + "/index.html") << page(8000);
    auto app = layers{compression{}}(static_files(dir));
    auto get = [&](std::vector<std::pair<std::string, std::string>> headers) {
        headers.emplace_back("Accept-Encoding", "gzip");
        return testing::send(app, simple_request{method::get, "/index.html", std::move(headers), {}});
    };
    auto compressed = get({});
    REQUIRE(compressed.header("Content-Encoding") == "gzip");
    std::string weak(compressed.header("ETag").value_or(""));
    REQUIRE(weak.starts_with("W/\""));
    std::string strong = weak.substr(2);

    // The strong tag matches the identity body only (RFC 9110 13.1.1): that body, whole.
    auto r = get({{"If-Match", strong}});
    CHECK(r.status == 200);
    CHECK(!r.header("Content-Encoding"));
    CHECK(r.header("ETag") == strong);
    CHECK(r.body == page(8000));
    CHECK(r.header("Vary") == "Accept-Encoding");
    r = get({{"If-Match", "\"other\", " + strong}});
    CHECK(r.status == 200);
    CHECK(!r.header("Content-Encoding"));
    // The weak tag matches nothing under strong comparison; "*" matches any body, the compressed one.
    CHECK(get({{"If-Match", weak}}).status == 412);
    r = get({{"If-Match", " * "}});
    CHECK(r.status == 200);
    CHECK(r.header("Content-Encoding") == "gzip");
    CHECK(r.header("ETag") == weak);
    // HEAD says what GET does; a range of the identity body as before.
    r = testing::send(
        app, simple_request{method::head, "/index.html", {{"Accept-Encoding", "gzip"}, {"If-Match", strong}}, {}});
    CHECK(r.status == 200);
    CHECK(!r.header("Content-Encoding"));
    CHECK(r.header("Content-Length") == std::to_string(page(8000).size()));
    r = get({{"If-Match", strong}, {"Range", "bytes=0-9"}});
    CHECK(r.status == 206);
    CHECK(r.body == page(8000).substr(0, 10));
    std::system(("rm -rf '" + dir + "'").c_str());
}

TEST_CASE(
    "behind the compression layer, a PUT's If-Match and ETag name the stored representation: kept, the answer compressed") {
    auto app = layers{compression{}}([](request const&) {
        auto r = response::json(std::string(5000, ' ') + "[]");
        r.set_header("ETag", "\"v2\"");  // the representation stored (RFC 9110 8.8.3), not this content
        return r;
    });
    auto r = testing::send(
        app, simple_request{method::put, "/doc", {{"Accept-Encoding", "gzip"}, {"If-Match", "\"v1\""}}, "{}"});
    CHECK(r.status == 200);
    CHECK(r.header("Content-Encoding") == "gzip");
    CHECK(r.header("ETag") == "\"v2\"");  // the client's next If-Match can use it
    r = testing::send(app, simple_request{method::get, "/doc", {{"Accept-Encoding", "gzip"}}, {}});
    CHECK(r.header("Content-Encoding") == "gzip");
    CHECK(r.header("ETag") == "W/\"v2\"");
}

TEST_CASE(
    "behind the compression layer, the 304 of a type it leaves alone says what its 200 says: no Vary, the strong ETag") {
    char tmpl[] = "/tmp/porthole-revalidate-png-XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    std::string dir = tmpl;
    std::ofstream(dir + "/img.png", std::ios::binary) << "\x89PNG" + std::string(4000, 'x');
    auto app = layers{compression{}}(static_files(dir));
    auto get = [&](std::vector<std::pair<std::string, std::string>> headers) {
        headers.emplace_back("Accept-Encoding", "gzip");
        return testing::send(app, simple_request{method::get, "/img.png", std::move(headers), {}});
    };
    auto full = get({});
    REQUIRE(full.status == 200);
    CHECK(!full.header("Vary"));
    CHECK(!full.header("Content-Encoding"));
    std::string strong(full.header("ETag").value_or(""));
    REQUIRE(strong.starts_with('"'));
    for (auto const& condition : std::vector<std::pair<std::string, std::string>>{
             {"If-None-Match", strong},
             {"If-None-Match", "W/" + strong},
             {"If-Modified-Since", std::string(full.header("Last-Modified").value_or(""))}}) {
        CAPTURE(condition.second);
        auto r = get({condition});
        CHECK(r.status == 304);
        CHECK(!r.header("Vary"));
        CHECK(r.header("ETag") == strong);
        CHECK(!r.header("Content-Type"));
    }
    std::system(("rm -rf '" + dir + "'").c_str());
}

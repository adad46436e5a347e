// Media types for file names (mime.hpp): by extension, case-insensitive, charset=utf-8 for text,
// application/octet-stream otherwise.
#include <porthole/mime.hpp>

#include <doctest/doctest.h>

#include <cctype>
#include <set>
#include <string>
#include <string_view>

using namespace porthole;

TEST_CASE("mime_type maps extensions case-insensitively, with charset for text") {
    CHECK(mime_type("index.html") == "text/html; charset=utf-8");
    CHECK(mime_type("a/b/INDEX.HTM") == "text/html; charset=utf-8");
    CHECK(mime_type("s.css") == "text/css; charset=utf-8");
    CHECK(mime_type("app.js") == "text/javascript; charset=utf-8");
    CHECK(mime_type("mod.mjs") == "text/javascript; charset=utf-8");
    CHECK(mime_type("d.json") == "application/json; charset=utf-8");
    CHECK(mime_type("app.js.map") == "application/json; charset=utf-8");
    CHECK(mime_type("i.svg") == "image/svg+xml; charset=utf-8");
    CHECK(mime_type("i.png") == "image/png");
    CHECK(mime_type("i.jpg") == "image/jpeg");
    CHECK(mime_type("i.JPEG") == "image/jpeg");
    CHECK(mime_type("i.gif") == "image/gif");
    CHECK(mime_type("i.webp") == "image/webp");
    CHECK(mime_type("i.avif") == "image/avif");
    CHECK(mime_type("favicon.ico") == "image/vnd.microsoft.icon");
    CHECK(mime_type("r.txt") == "text/plain; charset=utf-8");
    CHECK(mime_type("r.md") == "text/markdown; charset=utf-8");
    CHECK(mime_type("t.csv") == "text/csv; charset=utf-8");
    CHECK(mime_type("f.xml") == "application/xml; charset=utf-8");
    CHECK(mime_type("m.wasm") == "application/wasm");
    CHECK(mime_type("f.woff") == "font/woff");
    CHECK(mime_type("f.woff2") == "font/woff2");
    CHECK(mime_type("f.ttf") == "font/ttf");
    CHECK(mime_type("f.otf") == "font/otf");
    CHECK(mime_type("d.pdf") == "application/pdf");
    CHECK(mime_type("s.mp3") == "audio/mpeg");
    CHECK(mime_type("v.mp4") == "video/mp4");
    CHECK(mime_type("v.webm") == "video/webm");
    CHECK(mime_type("s.ogg") == "audio/ogg");
    CHECK(mime_type("s.wav") == "audio/wav");
    CHECK(mime_type("a.zip") == "application/zip");
    CHECK(mime_type("a.tar.gz") == "application/gzip");
    CHECK(mime_type("a.tar") == "application/x-tar");
}

TEST_CASE("mime_type falls back to application/octet-stream") {
    CHECK(mime_type("noext") == "application/octet-stream");
    CHECK(mime_type("a.unknownext") == "application/octet-stream");
    CHECK(mime_type(".bashrc") == "application/octet-stream");
    CHECK(mime_type("dir.d/file") == "application/octet-stream");
    CHECK(mime_type("trailing.") == "application/octet-stream");
    CHECK(mime_type("") == "application/octet-stream");
}

TEST_CASE("the extension is what follows the last dot of the last path segment") {
    CHECK(detail::file_extension("a/b.tar.gz") == "gz");
    CHECK(detail::file_extension("index.html") == "html");
    CHECK(detail::file_extension("dir.d/file").empty());
    CHECK(detail::file_extension(".bashrc").empty());  // a dotfile's name is no extension
    CHECK(detail::file_extension("dir/.bashrc").empty());
    CHECK(detail::file_extension("a/.b.txt") == "txt");
    CHECK(detail::file_extension("trailing.").empty());
    CHECK(detail::file_extension("dir/").empty());
    CHECK(detail::file_extension("").empty());
    // A path's earlier dots and slashes count for nothing: only the file name is read.
    CHECK(mime_type("site.css/app.JS") == "text/javascript; charset=utf-8");
    CHECK(mime_type("archive.zip/readme") == "application/octet-stream");
}

TEST_CASE("every known extension is found in any case, with charset=utf-8 on text types") {
    std::set<std::string_view> extensions;
    for (auto const& e : detail::mime_table) {
        CAPTURE(e.extension);
        CHECK(extensions.insert(e.extension).second);  // each listed once
        std::string lower(e.extension), upper(e.extension), name = "file.";
        for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        for (char c : e.extension) CHECK(c == std::tolower(static_cast<unsigned char>(c)));  // the table is lower case
        CHECK(mime_type(name + lower) == e.type);
        CHECK(mime_type("d/" + name + upper) == e.type);
        // Text types carry charset=utf-8, and only they.
        auto bare = e.type.substr(0, e.type.find(';'));
        if (detail::is_text_media_type(bare)) CHECK(e.type.ends_with("; charset=utf-8"));
        else CHECK(e.type.find(';') == std::string_view::npos);
    }
}

TEST_CASE("which media types are text that needs a charset") {
    for (std::string_view t : {"text/plain", "TEXT/HTML", "application/javascript", "application/ld+json",
                               "application/xml", "image/svg+xml", "application/rss+XML", "application/yaml",
                               "application/openapi+yaml", "text/css; charset=utf-8"})
        CHECK(detail::is_text_media_type(t));
    // Not a substring: these name XML, JSON or JavaScript inside, but are not text.
    for (std::string_view t : {"image/png", "application/octet-stream", "font/woff2", "video/mp4", "", "text", "text/",
                               "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                               "application/x-javascript-bytecode", "application/jsonl-archive", "xml", "+json"})
        CHECK_FALSE(detail::is_text_media_type(t));
}

TEST_CASE("mime_type works at compile time") {
    static_assert(mime_type("a.PNG") == "image/png");
    static_assert(mime_type("no-extension") == "application/octet-stream");
}

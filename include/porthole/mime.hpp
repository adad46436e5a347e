// porthole/mime.hpp: media types for file names (RFC 9110 8.3): the Content-Type a file is
// served with, by its extension, with charset=utf-8 for text.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/http.hpp>

#include <cstddef>
#include <string_view>

namespace porthole {

namespace detail {
struct mime_entry {
    std::string_view extension;  // lower case, without the dot
    std::string_view type;
};

// Text types carry charset=utf-8: a browser must not guess the encoding.
inline constexpr mime_entry mime_table[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json; charset=utf-8"},
    {"map", "application/json; charset=utf-8"},
    {"webmanifest", "application/manifest+json; charset=utf-8"},
    {"jsonld", "application/ld+json; charset=utf-8"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"tsv", "text/tab-separated-values; charset=utf-8"},
    {"ics", "text/calendar; charset=utf-8"},
    {"xml", "application/xml; charset=utf-8"},
    {"xhtml", "application/xhtml+xml; charset=utf-8"},
    {"rss", "application/rss+xml; charset=utf-8"},
    {"atom", "application/atom+xml; charset=utf-8"},
    {"svg", "image/svg+xml; charset=utf-8"},
    {"yaml", "application/yaml; charset=utf-8"},
    {"yml", "application/yaml; charset=utf-8"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/vnd.microsoft.icon"},
    {"bmp", "image/bmp"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"wasm", "application/wasm"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"pdf", "application/pdf"},
    {"mp3", "audio/mpeg"},
    {"m4a", "audio/mp4"},
    {"ogg", "audio/ogg"},
    {"oga", "audio/ogg"},
    {"opus", "audio/ogg"},
    {"wav", "audio/wav"},
    {"flac", "audio/flac"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"ogv", "video/ogg"},
    {"mov", "video/quicktime"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tgz", "application/gzip"},
    {"tar", "application/x-tar"},
    {"bz2", "application/x-bzip2"},
    {"xz", "application/x-xz"},
    {"zst", "application/zstd"},
    {"7z", "application/x-7z-compressed"},
};

// The extension of the last segment of `path` ("a/b.tar.gz" -> "gz"), or empty.
constexpr std::string_view file_extension(std::string_view path) noexcept {
    auto slash = path.find_last_of('/');
    if (slash != std::string_view::npos) path.remove_prefix(slash + 1);
    auto dot = path.find_last_of('.');
    if (dot == std::string_view::npos || dot == 0) return {};  // none, or a bare dotfile name
    return path.substr(dot + 1);
}

// Whether a media type is text that needs a charset: text/*, JavaScript, JSON, XML and YAML
// (RFC 9512), with their structured syntax suffixes (image/svg+xml, application/ld+json). By
// suffix, not by substring: an Office document (application/vnd.openxmlformats-...) is a ZIP.
constexpr bool is_text_media_type(std::string_view type) noexcept {
    type = media_type(type);
    if (type.size() > 5 && iequals(type.substr(0, 5), "text/")) return true;
    for (std::string_view tail : {"/javascript", "/json", "+json", "/xml", "+xml", "/yaml", "+yaml"})
        if (media_type_ends_with(type, tail)) return true;
    return false;
}
}  // namespace detail

// The Content-Type for a file, by its extension (case-insensitive): "index.HTML" gives
// "text/html; charset=utf-8"; an unknown or missing extension gives "application/octet-stream".
constexpr std::string_view mime_type(std::string_view path) noexcept {
    auto ext = detail::file_extension(path);
    for (auto const& e : detail::mime_table)
        if (iequals(e.extension, ext)) return e.type;
    return "application/octet-stream";
}

}  // namespace porthole

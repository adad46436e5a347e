// porthole/static_files.hpp: an application that serves the files of a directory, confined to
// it: no request, encoded or not, opens a file outside the root. Files go out as file bodies
// (sendfile in the built-in server), with MIME types, strong ETags, Last-Modified, conditional
// requests (RFC 9110 13), single byte ranges (RFC 9110 14), and files compressed ahead of time.
#pragma once

#include <porthole/app.hpp>
#include <porthole/detail/decimal.hpp>
#include <porthole/encoding.hpp>
#include <porthole/html.hpp>
#include <porthole/http_date.hpp>
#include <porthole/url.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#if defined(_WIN32)
#include <porthole/detail/confine_windows.hpp>
#else
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#if defined(__linux__) && __has_include(<linux/openat2.h>) && __has_include(<sys/syscall.h>)
#include <linux/openat2.h>
#include <sys/syscall.h>
#if defined(SYS_openat2)
#define PORTHOLE_HAVE_OPENAT2 1
#endif
#endif

namespace porthole {

// ---------------------------------------------------------------- MIME types

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

// Whether a media type is text that needs a charset: text/*, JavaScript, JSON, XML, SVG.
constexpr bool is_text_media_type(std::string_view type) noexcept {
    auto has = [&](std::string_view part) {
        if (part.size() > type.size()) return false;
        for (std::size_t i = 0; i + part.size() <= type.size(); ++i)
            if (iequals(type.substr(i, part.size()), part)) return true;
        return false;
    };
    return (type.size() >= 5 && iequals(type.substr(0, 5), "text/")) || has("javascript") || has("json") ||
           has("xml") || has("svg");
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

// ---------------------------------------------------------------- options

struct static_options {
    // Served for a directory requested with a trailing slash; empty: none.
    std::string index = "index.html";
    // A directory without an index gets an HTML listing instead of 404.
    bool list_directories = false;
    // Names starting with '.' (".git", ".env") are served instead of 404.
    bool allow_dotfiles = false;
    // Symbolic links are followed when they stay inside the root (relative targets only);
    // off: every symbolic link answers 404.
    bool follow_symlinks = false;
    // Sent as Cache-Control on 200, 206 and 304 when not empty, e.g. "public, max-age=3600".
    std::string cache_control{};
    // Extra or overriding extension -> type pairs, looked up before the built-in table:
    // {{"webp", "image/webp"}, {"log", "text/plain"}}. A text type without parameters gets
    // "; charset=utf-8" added.
    std::vector<std::pair<std::string, std::string>> mime_types{};
    // Serve NAME.br or NAME.gz, made ahead of time, in place of NAME to a client whose
    // Accept-Encoding allows it, when that file is there and no older than NAME: Content-Type of
    // NAME, Content-Encoding br or gzip, its own ETag; every answer gets Vary: Accept-Encoding.
    // Nothing is compressed at request time (the compression layer does that).
    bool precompressed = false;
};

// ---------------------------------------------------------------- confinement

namespace detail {
#if !defined(_WIN32)  // Windows: confine_windows.hpp
// Set when the kernel refused openat2 once: every later lookup walks segment by segment.
inline std::atomic<bool> openat2_unavailable{false};

inline constexpr int max_symlink_hops = 40;

// Opens `names` (single path segments, already checked) below the directory `root`, never
// leaving it: each segment is opened with openat relative to the directory before it and
// O_NOFOLLOW, ".." only comes from symbolic link targets and is resolved by going back up
// our own stack of directories, never past the root. The last segment is opened O_RDONLY
// (O_NONBLOCK: a FIFO must not block the caller); no names opens the root itself.
// Returns the descriptor, or -1 with errno-like `error` set.
inline int open_beneath_by_walk(int root, std::vector<std::string> const& names, bool follow_symlinks, int& error) {
    std::deque<std::string> pending(names.begin(), names.end());
    std::vector<unique_fd> stack;  // directories entered below the root
    auto current = [&] { return stack.empty() ? root : stack.back().get(); };
    unique_fd last;  // the final component when it has just been opened
    int hops = 0;
#ifdef O_PATH
    constexpr int dir_flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
#else
    constexpr int dir_flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
#endif
    constexpr int file_flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    while (!pending.empty()) {
        std::string name = std::move(pending.front());
        pending.pop_front();
        last.reset();
        if (name.empty() || name == ".") continue;
        if (name == "..") {
            if (stack.empty()) {
                error = EXDEV;  // above the root
                return -1;
            }
            stack.pop_back();
            continue;
        }
        bool is_last = pending.empty();
        int fd = ::openat(current(), name.c_str(), is_last ? file_flags : dir_flags);
        if (fd >= 0) {
            if (is_last)
                last.reset(fd);
            else
                stack.emplace_back(fd);
            continue;
        }
        int e = errno;
        if (!follow_symlinks || (e != ELOOP && e != ENOTDIR)) {
            error = e;
            return -1;
        }
        char target[4096];
        auto n = ::readlinkat(current(), name.c_str(), target, sizeof target);
        if (n < 0 || static_cast<std::size_t>(n) == sizeof target) {
            error = e;  // not a link after all: the first error stands
            return -1;
        }
        std::string_view t(target, static_cast<std::size_t>(n));
        if (t.empty() || t.front() == '/' || ++hops > max_symlink_hops) {
            error = t.empty() || t.front() == '/' ? EXDEV : ELOOP;
            return -1;
        }
        std::vector<std::string> parts;
        for (auto part : url::segments(t)) parts.emplace_back(part);
        // A trailing "" or "." left at the end means "this directory": opened below.
        pending.insert(pending.begin(), parts.begin(), parts.end());
    }
    if (last) return last.release();
    int fd = ::openat(current(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) error = errno;
    return fd;
}

#ifdef PORTHOLE_HAVE_OPENAT2
// The same in one system call, checked by the kernel. Returns -2 when openat2 cannot be used.
inline int open_beneath_by_openat2(int root, std::vector<std::string> const& names, bool follow_symlinks, int& error) {
    if (openat2_unavailable.load(std::memory_order_relaxed)) return -2;
    std::string path;
    for (auto const& n : names) {
        if (!path.empty()) path += '/';
        path += n;
    }
    if (path.empty()) path = ".";
    open_how how{};
    how.flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (follow_symlinks ? 0 : O_NOFOLLOW);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | (follow_symlinks ? 0 : RESOLVE_NO_SYMLINKS);
    auto fd = ::syscall(SYS_openat2, root, path.c_str(), &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    int e = errno;
    if (e == ENOSYS || e == EPERM) {  // an old kernel, or a sandbox that filters the call
        openat2_unavailable.store(true, std::memory_order_relaxed);
        return -2;
    }
    if (e == EAGAIN) return -2;  // a concurrent rename: the walk decides
    error = e;
    return -1;
}
#endif

inline int open_beneath(int root, std::vector<std::string> const& names, bool follow_symlinks, int& error) {
#ifdef PORTHOLE_HAVE_OPENAT2
    int fd = open_beneath_by_openat2(root, names, follow_symlinks, error);
    if (fd != -2) return fd;
#endif
    return open_beneath_by_walk(root, names, follow_symlinks, error);
}

inline int open_root_directory(std::string const& path) noexcept {
    return ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

// The names in a directory opened by open_beneath, with whether each is a directory (a link
// to one is not); false when it cannot be read.
inline bool read_directory(int dir_fd, std::vector<std::pair<std::string, bool>>& entries) {
    int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return false;
    DIR* dir = ::fdopendir(fd);
    if (!dir) {
        ::close(fd);
        return false;
    }
    while (auto* e = ::readdir(dir)) {
        std::string_view name = e->d_name;
        if (name == "." || name == "..") continue;
        struct stat st {};
        bool is_dir = ::fstatat(::dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
        entries.emplace_back(std::string(name), is_dir);
    }
    ::closedir(dir);
    return true;
}
#endif  // !_WIN32

// ---------------------------------------------------------------- validators

// The entity-tags of an If-Match / If-None-Match value, one at a time. `f(opaque, weak)`
// returns true to stop. Returns false when the value is malformed.
template <class F>
constexpr bool for_each_entity_tag(std::string_view v, F&& f) {
    std::size_t i = 0;
    for (;;) {
        while (i < v.size() && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) ++i;
        if (i == v.size()) return true;
        bool weak = false;
        if (v.substr(i, 2) == "W/") {
            weak = true;
            i += 2;
        }
        if (i == v.size() || v[i] != '"') return false;
        auto close = v.find('"', i + 1);
        if (close == std::string_view::npos) return false;
        if (f(v.substr(i, close - i + 1), weak)) return true;
        i = close + 1;
        while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
        if (i < v.size() && v[i] != ',') return false;
    }
}

// Whether `header` ("*" or a list of entity-tags) matches `etag` (ours, strong).
constexpr bool etag_list_matches(std::string_view header, std::string_view etag, bool strong) {
    header = trim_ows(header);
    if (header == "*") return true;
    bool found = false;
    for_each_entity_tag(header, [&](std::string_view tag, bool weak) {
        found = tag == etag && !(strong && weak);
        return found;
    });
    return found;
}

// The same over every field line named `name` (a list may be split across lines).
inline bool etag_fields_match(std::span<header_field const> fields, std::string_view name, std::string_view etag,
                              bool strong) {
    for (auto const& f : fields)
        if (iequals(f.name, name) && etag_list_matches(f.value, etag, strong)) return true;
    return false;
}

// A non-negative decimal number, saturating at UINT64_MAX (a last-byte-pos past any file means
// its end); nullopt if not all digits.
constexpr std::optional<std::uint64_t> parse_range_number(std::string_view s) noexcept {
    std::uint64_t v = 0;
    if (parse_decimal(s, v)) return v;
    if (s.empty() || s.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
    return UINT64_MAX;
}

struct byte_range {
    enum kind_t { none, satisfiable, unsatisfiable } kind = none;
    std::uint64_t first = 0;
    std::uint64_t last = 0;
};

// A Range header value against a representation of `size` bytes. `none`: no range applies
// (another unit, bad syntax, or several ranges, answered whole).
constexpr byte_range parse_byte_range(std::string_view value, std::uint64_t size) noexcept {
    value = trim_ows(value);
    if (value.size() < 6 || !iequals(value.substr(0, 6), "bytes=")) return {};
    value.remove_prefix(6);
    std::string_view spec;
    int count = 0;
    for_each_list_item(value, [&](std::string_view item) {
        spec = item;
        ++count;
    });
    if (count != 1) return {};
    auto dash = spec.find('-');
    if (dash == std::string_view::npos) return {};
    auto first_text = trim_ows(spec.substr(0, dash));
    auto last_text = trim_ows(spec.substr(dash + 1));
    if (first_text.empty()) {  // suffix: the last N bytes
        auto n = parse_range_number(last_text);
        if (!n) return {};
        if (*n == 0 || size == 0) return {byte_range::unsatisfiable};
        auto len = std::min(*n, size);
        return {byte_range::satisfiable, size - len, size - 1};
    }
    auto first = parse_range_number(first_text);
    if (!first) return {};
    std::uint64_t last = UINT64_MAX;
    if (!last_text.empty()) {
        auto l = parse_range_number(last_text);
        if (!l || *l < *first) return {};
        last = *l;
    }
    if (*first >= size) return {byte_range::unsatisfiable};
    return {byte_range::satisfiable, *first, std::min(last, size - 1)};
}

inline void append_hex(std::string& out, std::uint64_t v) {
    char buf[16];
    auto r = std::to_chars(buf, buf + sizeof buf, v, 16);
    out.append(buf, r.ptr);
}
}  // namespace detail

// ---------------------------------------------------------------- the handler

// Serves the files below `root`. An application: mount it under a prefix and it serves the
// path it is given (request::path()). Copies share the open root directory.
//
//   porthole::static_files files("www");
//   porthole::static_files assets{"assets", {.cache_control = "public, max-age=86400"}};
//
// The root is opened once, here; throws std::system_error when it is not a directory.
class static_files {
public:
    explicit static_files(std::string const& root, static_options options = {}) : state_(std::make_shared<state>()) {
        int fd = detail::open_root_directory(root);
        if (fd < 0) throw std::system_error(errno, std::generic_category(), "porthole::static_files: " + root);
        state_->root.reset(fd);
        state_->options = std::move(options);
        auto& index = state_->options.index;
        if (index.find('/') != std::string::npos || index == "." || index == "..") index.clear();
        for (auto& [ext, type] : state_->options.mime_types) {
            if (!ext.empty() && ext.front() == '.') ext.erase(0, 1);
            if (type.find(';') == std::string::npos && detail::is_text_media_type(type)) type += "; charset=utf-8";
        }
    }

    response operator()(request const& req) const {
        auto m = req.method();
        if (m == method::options) {
            response r(status::no_content);
            r.set_header("Allow", "GET, HEAD");
            return r;
        }
        if (m != method::get && m != method::head) {
            auto r = response::error(status::method_not_allowed);
            r.set_header("Allow", "GET, HEAD");
            return r;
        }

        // Split the path into names, refusing any that could move a lookup or hide one.
        std::vector<std::string> names;
        bool trailing_slash = false;
        auto path = req.path();
        url::segments segments(path);
        for (auto it = segments.begin(), end = segments.end(); it != end;) {
            auto seg = *it;
            bool last = ++it == end;
            if (seg.empty()) {
                if (last) {
                    trailing_slash = true;
                    break;
                }
                return response::error(status::bad_request);  // "//"
            }
            std::string name;
            if (seg.find("%2F") != std::string_view::npos || seg.find("%2f") != std::string_view::npos ||
                !url::decode_segment(seg, name))
                return response::error(status::bad_request);
            if (name.find_first_of(std::string_view("/\\\0", 3)) != std::string::npos || url::is_dot_segment(name))
                return response::error(status::bad_request);
            if (name.front() == '.' && !state_->options.allow_dotfiles) return response::error(status::not_found);
            names.push_back(std::move(name));
        }

        auto opened = open(names);
        if (!opened.fd) return response::error(opened.failure);
        if (opened.st.directory) {
            if (!trailing_slash) return redirect_to_directory(req);
            if (!state_->options.index.empty()) {
                names.push_back(state_->options.index);
                auto index = open(names);
                if (index.fd && index.st.regular) return serve(req, names, std::move(index));
                names.pop_back();
            }
            if (state_->options.list_directories) return listing(req, opened.fd->get());
            return response::error(status::not_found);
        }
        if (!opened.st.regular || trailing_slash) return response::error(status::not_found);
        return serve(req, names, std::move(opened));
    }

    // The Content-Type this handler sends for `path`: the options' types, then mime_type().
    std::string_view content_type_for(std::string_view path) const noexcept {
        auto ext = detail::file_extension(path);
        for (auto const& [e, type] : state_->options.mime_types)
            if (iequals(e, ext)) return type;
        return mime_type(path);
    }

    // What is known of an open file: type, size, inode (the file index on Windows) and
    // modification time; detail::status_of(fd, st) fills it.
    using file_status = detail::file_status;

    // The strong validator sent for a file with this status: inode, size and modification
    // time to the nanosecond, so a file rewritten within a second still changes it.
    static std::string etag_for(file_status const& st) {
        std::string tag = "\"";
        detail::append_hex(tag, st.id);
        tag += '-';
        detail::append_hex(tag, st.size);
        tag += '-';
        auto ns = static_cast<std::uint64_t>(st.mtime_seconds) * 1000000000u + st.mtime_nanoseconds;
        detail::append_hex(tag, ns);
        tag += '"';
        return tag;
    }

    static_options const& options() const noexcept { return state_->options; }

private:
    struct state {
        unique_fd root;
        static_options options;
    };
    struct opened_file {
        std::shared_ptr<unique_fd> fd;
        file_status st{};
        status failure = status::not_found;
    };

    opened_file open(std::vector<std::string> const& names) const {
        opened_file f;
        int err = 0;
        int fd = detail::open_beneath(state_->root.get(), names, state_->options.follow_symlinks, err);
        if (fd < 0) {
            f.failure = (err == EACCES || err == EPERM) ? status::forbidden : status::not_found;
            return f;
        }
        f.fd = std::make_shared<unique_fd>(fd);
        if (!detail::status_of(fd, f.st)) f.fd.reset();
        return f;
    }

    // 301 to the same path with a slash, built from the path as it came (so a mount prefix
    // stays) with any run of leading slashes or backslashes reduced to one '/': the Location
    // is always a path on this host, never "//elsewhere".
    static response redirect_to_directory(request const& req) {
        auto raw = req.raw_path();
        while (!raw.empty() && (raw.front() == '/' || raw.front() == '\\')) raw.remove_prefix(1);
        std::string location = "/";
        location += raw;
        if (location.back() != '/') location += '/';
        if (!req.query_string().empty()) {
            location += '?';
            location += req.query_string();
        }
        auto r = response::error(status::moved_permanently);
        r.set_header("Location", location);
        return r;
    }

    void add_cache_headers(response& r, std::string const& etag, std::string_view last_modified) const {
        r.set_header("ETag", etag);
        r.set_header("Last-Modified", last_modified);
        if (!state_->options.cache_control.empty()) r.set_header("Cache-Control", state_->options.cache_control);
    }

    // `names` leads to the file (an index file's name last); `file` is it, opened.
    response serve(request const& req, std::vector<std::string>& names, opened_file file) const {
        std::string_view name = names.empty() ? std::string_view{} : std::string_view(names.back());
        auto type = content_type_for(name);
        auto coding = content_coding::identity;
        if (state_->options.precompressed && !names.empty()) coding = take_precompressed(req, names, file);
        response r = serve_opened(req, std::move(file), type, coding);
        if (state_->options.precompressed) r.add_vary("Accept-Encoding");
        return r;
    }

    // Swaps `file` for NAME.br or NAME.gz when the client takes it and it is fresh; the coding.
    content_coding take_precompressed(request const& req, std::vector<std::string>& names, opened_file& file) const {
        for (coding_set offer : {coding_set{true, true, false}, coding_set{false, true, false}}) {
            auto coding = choose_encoding(req.headers(), offer).coding;
            if (coding == content_coding::identity) return coding;
            names.back() += coding == content_coding::br ? ".br" : ".gz";
            auto variant = open(names);
            names.back().resize(names.back().size() - 3);
            auto newer_or_same = [&](file_status const& a, file_status const& b) {
                return a.mtime_seconds > b.mtime_seconds ||
                       (a.mtime_seconds == b.mtime_seconds && a.mtime_nanoseconds >= b.mtime_nanoseconds);
            };
            if (variant.fd && variant.st.regular && newer_or_same(variant.st, file.st)) {
                file = std::move(variant);
                return coding;
            }
            if (coding != content_coding::br) return content_coding::identity;
        }
        return content_coding::identity;
    }

    response serve_opened(request const& req, opened_file file, std::string_view type, content_coding coding) const {
        auto const& st = file.st;
        auto size = st.size;
        auto etag = etag_for(st);
        auto mtime = static_cast<std::time_t>(st.mtime_seconds);
        char date_buf[http_date_size];
        auto last_modified = format_http_date(mtime, date_buf);
        // RFC 9110 13.2.2, in its order.
        if (req.has_header("If-Match")) {
            if (!detail::etag_fields_match(req.headers(), "If-Match", etag, true)) return response::error(status::precondition_failed);
        } else if (req.has_header("If-Unmodified-Since")) {
            if (auto since = parse_http_date(req.header("If-Unmodified-Since")); since && mtime > *since)
                return response::error(status::precondition_failed);
        }
        bool not_modified = false;
        if (req.has_header("If-None-Match")) {
            not_modified = detail::etag_fields_match(req.headers(), "If-None-Match", etag, false);
        } else if (req.has_header("If-Modified-Since")) {  // only GET and HEAD get here
            auto since = parse_http_date(req.header("If-Modified-Since"));
            not_modified = since && mtime <= *since;
        }
        if (not_modified) {
            response r(status::not_modified);
            add_cache_headers(r, etag, last_modified);
            return r;
        }

        response r(status::ok);
        r.set_content_type(type);
        if (coding != content_coding::identity) r.set_header("Content-Encoding", to_string(coding));
        r.set_header("X-Content-Type-Options", "nosniff");
        r.set_header("Accept-Ranges", "bytes");
        add_cache_headers(r, etag, last_modified);
        std::uint64_t offset = 0, length = size;
        // Ranges are defined for GET only (RFC 9110 14.2); If-Range must match exactly.
        if (req.method() == method::get && req.has_header("Range") && if_range_holds(req, etag, mtime)) {
            auto range = detail::parse_byte_range(req.header("Range"), size);
            if (range.kind == detail::byte_range::unsatisfiable) {
                auto e = response::error(status::range_not_satisfiable);
                e.set_header("Content-Range", "bytes */" + std::to_string(size));
                e.set_header("Accept-Ranges", "bytes");
                return e;
            }
            if (range.kind == detail::byte_range::satisfiable) {
                offset = range.first;
                length = range.last - range.first + 1;
                r.set_status(status::partial_content);
                r.set_header("Content-Range", "bytes " + std::to_string(range.first) + '-' + std::to_string(range.last) +
                                                  '/' + std::to_string(size));
            }
        }
        r.body() = file_body{std::move(file.fd), offset, length};
        return r;
    }

    // If-Range: an entity-tag must match strongly, a date must equal Last-Modified.
    static bool if_range_holds(request const& req, std::string_view etag, std::time_t mtime) {
        if (!req.has_header("If-Range")) return true;
        auto v = detail::trim_ows(req.header("If-Range"));
        if (!v.empty() && (v.front() == '"' || v.substr(0, 2) == "W/")) return v == etag;
        auto date = parse_http_date(v);
        return date && *date == mtime;
    }

    response listing(request const& req, int dir_fd) const {
        std::vector<std::pair<std::string, bool>> entries;  // name, is a directory
        if (!detail::read_directory(dir_fd, entries)) return response::error(status::not_found);
        if (!state_->options.allow_dotfiles)
            std::erase_if(entries, [](auto const& e) { return e.first.front() == '.'; });
        std::sort(entries.begin(), entries.end());
        std::string title;
        html_escape(req.path(), title);
        std::string html = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of " + title +
                           "</title></head>\n<body><h1>Index of " + title + "</h1>\n<ul>\n";
        for (auto const& [name, is_dir] : entries) {
            html += "<li><a href=\"./";
            std::string href;
            url::encode_component(name, href);
            html_escape(href, html);
            if (is_dir) html += '/';
            html += "\">";
            html_escape(name, html);
            if (is_dir) html += '/';
            html += "</a></li>\n";
        }
        html += "</ul></body></html>\n";
        auto r = response::html(std::move(html));
        r.set_header("X-Content-Type-Options", "nosniff");
        return r;
    }

    std::shared_ptr<state> state_;
};

}  // namespace porthole

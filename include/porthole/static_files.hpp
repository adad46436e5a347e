// porthole/static_files.hpp: an application that serves the files of a directory, confined to
// it: no request, encoded or not, opens a file outside the root. Files go out as file bodies
// (sendfile in the built-in server), with MIME types, strong ETags, Last-Modified, conditional
// requests (RFC 9110 13), single byte ranges (RFC 9110 14), and files compressed ahead of time.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/app.hpp>
#include <porthole/detail/confine.hpp>
#include <porthole/detail/platform.hpp>
#include <porthole/detail/validators.hpp>
#include <porthole/encoding.hpp>
#include <porthole/html.hpp>
#include <porthole/http_date.hpp>
#include <porthole/mime.hpp>
#include <porthole/url.hpp>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace porthole {

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

// ---------------------------------------------------------------- the handler

// Serves the files below `root`. An application: mount it under a prefix and it serves the
// path it is given (request::path()). Copies share the open root directory.
//
//   porthole::static_files files("www");
//   porthole::static_files assets{"assets", {.cache_control = "public, max-age=86400"}};
//
// The root is opened once, here; throws std::system_error when it is not a directory, and
// std::invalid_argument for a cache_control or a MIME type no response can carry.
class static_files {
public:
    explicit static_files(std::string const& root, static_options options = {}) : state_(std::make_shared<state>()) {
        int fd = detail::open_root_directory(root);
        if (fd < 0) throw std::system_error(errno, std::generic_category(), "porthole::static_files: " + root);
        state_->root.reset(fd);
        state_->options = std::move(options);
        auto& index = state_->options.index;
        if (index.find('/') != std::string::npos || url::is_dot_segment(index)) index.clear();
        for (auto& [ext, type] : state_->options.mime_types) {
            if (!ext.empty() && ext.front() == '.') ext.erase(0, 1);
            if (type.find(';') == std::string::npos && detail::is_text_media_type(type)) type += "; charset=utf-8";
            detail::require_sendable("porthole::static_files (mime_types)", "Content-Type", type);
        }
        detail::require_sendable("porthole::static_files", "Cache-Control", state_->options.cache_control);
    }

    response operator()(request const& req) const {
        constexpr std::string_view allowed = "GET, HEAD, OPTIONS";  // as the router lists them
        auto m = req.method();
        if (m != method::get && m != method::head) {
            auto r = m == method::options ? response(status::no_content) : response::error(status::method_not_allowed);
            r.set_header("Allow", allowed);
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
                if (index.failure == status::service_unavailable) return response::error(index.failure);
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

    // Out of descriptors or memory is the server's state, not the file's: 503, not 404.
    static status failure_for(int err) noexcept {
        if (err == EMFILE || err == ENFILE || err == ENOMEM) return status::service_unavailable;
        return (err == EACCES || err == EPERM) ? status::forbidden : status::not_found;
    }

    opened_file open(std::vector<std::string> const& names) const {
        opened_file f;
        int err = 0;
        int fd = detail::open_beneath(state_->root.get(), names, state_->options.follow_symlinks, err);
        if (fd < 0) {
            f.failure = failure_for(err);
            return f;
        }
        f.fd = std::make_shared<unique_fd>(fd);
        if (!detail::status_of(fd, f.st)) f.fd.reset();
        return f;
    }

    // 301 to the same path with a slash, built from the path as it came (so a mount prefix
    // stays): always a path on this host, never "//elsewhere" (url::append_local_path).
    static response redirect_to_directory(request const& req) {
        std::string location;
        url::append_local_path(req.raw_path(), location);
        if (location.back() != '/') location += '/';
        if (!req.query_string().empty()) {
            location += '?';
            url::encode_as_target(req.query_string(), location);
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
        // Never later than now (RFC 9110 8.8.2.1: a future modification time is replaced by the
        // message's date), so that a client's If-Modified-Since of it still works once it passes.
        auto mtime = std::min(static_cast<std::time_t>(st.mtime_seconds), std::time(nullptr));
        char date_buf[http_date_size];
        auto last_modified = format_http_date(mtime, date_buf);
        // RFC 9110 13.2.2, in its order. A date on two lines is a list, which 13.1.3 and 13.1.4 ignore.
        if (req.header("If-Match")) {
            if (!detail::etag_fields_match(req.headers(), "If-Match", etag, true))
                return response::error(status::precondition_failed);
        } else if (auto field = detail::single_value(req, "If-Unmodified-Since")) {
            if (auto since = parse_http_date(*field); since && mtime > *since)
                return response::error(status::precondition_failed);
        }
        bool not_modified = false;
        if (req.header("If-None-Match")) {
            not_modified = detail::etag_fields_match(req.headers(), "If-None-Match", etag, false);
        } else if (auto field = detail::single_value(req, "If-Modified-Since")) {  // only GET and HEAD get here
            auto since = parse_http_date(*field);
            not_modified = since && mtime <= *since;
        }
        if (not_modified) {
            response r(status::not_modified);
            // Not sent: for a compression layer to say what the 200 would carry. A precompressed
            // variant's 200 is the layer's to leave alone: its 304 names no type.
            if (coding == content_coding::identity) r.set_content_type(type);
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
        // A Range on two lines is not one range (RFC 9110 5.3): the whole representation.
        auto range_field = req.method() == method::get ? detail::single_value(req, "Range") : std::nullopt;
        if (range_field && if_range_holds(req, etag, mtime)) {
            auto range = detail::parse_byte_range(*range_field, size);
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
                r.set_header("Content-Range", "bytes " + std::to_string(range.first) + '-' +
                                                  std::to_string(range.last) + '/' + std::to_string(size));
            }
        }
        r.body() = file_body{std::move(file.fd), offset, length};
        return r;
    }

    // If-Range: an entity-tag must match strongly, a date must equal Last-Modified; on two lines
    // it is neither, and the whole representation is sent.
    static bool if_range_holds(request const& req, std::string_view etag, std::time_t mtime) {
        if (!req.header("If-Range")) return true;
        auto field = detail::single_value(req, "If-Range");
        if (!field) return false;
        auto v = detail::trim_ows(*field);
        if (!v.empty() && (v.front() == '"' || v.substr(0, 2) == "W/")) return v == etag;
        auto date = parse_http_date(v);
        return date && *date == mtime;
    }

    response listing(request const& req, int dir_fd) const {
        std::vector<std::pair<std::string, bool>> entries;  // name, is a directory
        errno = 0;                                          // what the reading failed with, if it says
        if (!detail::read_directory(dir_fd, state_->options.follow_symlinks, entries))
            return response::error(failure_for(errno));
        if (!state_->options.allow_dotfiles)
            std::erase_if(entries, [](auto const& e) { return e.first.front() == '.'; });
        std::sort(entries.begin(), entries.end());
        std::string title, full;  // the path the client asked for, the mount's prefix included, decoded
        html_escape(url::decode_component(req.raw_path(), full) ? std::string_view(full) : req.path(), title);
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

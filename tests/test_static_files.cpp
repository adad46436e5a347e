#include "parse_driver.hpp"

#include <porthole/router.hpp>
#include <porthole/static_files.hpp>
#include <porthole/testing.hpp>

#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace porthole;
using porthole::testing::parsed_response;
using porthole::testing::simple_request;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view outside_marker = "OUTSIDE-MARKER-71c2";
constexpr std::string_view corpus_marker = "OUTSIDE-THE-ROOT-5c81e0d2";  // tests/corpus/docroot/outside.txt
constexpr std::string_view passwd_marker = "root:x:0:0:";

// Modification time given to digits.txt: 2020-01-02 03:04:05.5 UTC.
constexpr std::time_t digits_mtime = 1577934245;
constexpr char const* digits_date = "Thu, 02 Jan 2020 03:04:05 GMT";

void write_file(fs::path const& p, std::string_view content) {
    std::ofstream out(p, std::ios::binary);
    out << content;
}

// A document root in a fresh temporary directory, with a secret beside it:
//   base/outside.txt             the secret
//   base/www/...                 the root
struct test_root {
    fs::path base;
    fs::path root;

    test_root() {
        base = fs::temp_directory_path() / ("porthole_static_" + std::to_string(::getpid()));
        fs::remove_all(base);
        root = base / "www";
        fs::create_directories(root / "sub");
        fs::create_directories(root / "docs");
        fs::create_directories(root / ".git");
        write_file(base / "outside.txt", std::string(outside_marker) + "\n");
        write_file(root / "index.html", "<h1>home</h1>");
        write_file(root / "hello.txt", "hello\n");
        write_file(root / "digits.txt", "0123456789");
        write_file(root / "empty.txt", "");
        write_file(root / "upper.HTML", "<p>upper</p>");
        write_file(root / "data.json", "{}");
        write_file(root / "noext", "x");
        write_file(root / "a%b.txt", "percent");
        write_file(root / "sub" / "a.txt", "in sub");
        fs::create_directories(root / "sub" / "100%");
        write_file(root / "sub" / "<b>&\"x\".txt", "odd name");
        write_file(root / "docs" / "index.html", "<h1>docs</h1>");
        fs::create_directories(root / "docs" / "q{^}`");  // characters a target may hold, a URI not
        write_file(root / ".hidden", "hidden");
        write_file(root / ".git" / "config", "[core]");
        fs::create_symlink("hello.txt", root / "link_in");
        fs::create_symlink("sub", root / "link_dir_in");
        fs::create_symlink("../hello.txt", root / "sub" / "up");
        fs::create_symlink("../outside.txt", root / "link_out");
        fs::create_symlink("../../outside.txt", root / "sub" / "esc");
        fs::create_symlink("/etc/passwd", root / "link_abs");
        fs::create_symlink((base / "www" / "hello.txt").string(), root / "link_abs_inside");
        fs::create_symlink("loop_b", root / "loop_a");
        fs::create_symlink("loop_a", root / "loop_b");
        fs::create_symlink(".", root / "link_self");
        REQUIRE(::mkfifo((root / "pipe").c_str(), 0600) == 0);
        timespec times[2] = {{digits_mtime, 500000000}, {digits_mtime, 500000000}};
        REQUIRE(::utimensat(AT_FDCWD, (root / "digits.txt").c_str(), times, 0) == 0);
    }
    ~test_root() {
        std::error_code ec;
        fs::remove_all(base, ec);
    }
    test_root(test_root const&) = delete;
    test_root& operator=(test_root const&) = delete;
};

test_root& shared_root() {
    static test_root r;
    return r;
}

// Runs the body once with openat2 (where the kernel has it) and once walking segment by
// segment, so both resolvers face every case.
struct resolver_mode {
    explicit resolver_mode(bool walk) : saved_(detail::openat2_unavailable.load()) {
        if (walk) detail::openat2_unavailable = true;
    }
    ~resolver_mode() { detail::openat2_unavailable = saved_; }
    bool saved_;
};

parsed_response get(static_files& app, std::string target,
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
    return testing::send(app, simple_request{method::get, std::move(target), std::move(headers), {}});
}

// Everything a client receives for raw request bytes.
std::string raw_exchange(static_files& app, std::string_view bytes) {
    testing::client c(app);
    c.send(bytes);
    return c.output();
}

bool leaks(std::string_view output) {
    return output.find(outside_marker) != std::string_view::npos ||
           output.find(corpus_marker) != std::string_view::npos || output.find(passwd_marker) != std::string_view::npos;
}

static_files::file_status status_of(fs::path const& p) {
    unique_fd fd(detail::open_file_for_reading(p.string()));
    REQUIRE(fd);
    static_files::file_status st;
    REQUIRE(detail::status_of(fd.get(), st));
    return st;
}

std::string digits_etag() { return static_files::etag_for(status_of(shared_root().root / "digits.txt")); }

// A request handed straight to the handler, as a router would after matching a prefix.
request make_request(std::string_view path, std::string_view raw_path, std::span<header_field const> headers = {}) {
    request::parts p;
    p.target = raw_path;
    p.path = path;
    p.raw_path = raw_path;
    p.headers = headers;
    return request(p);
}

std::string read_all(fs::path const& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

// ---------------------------------------------------------------- serving

TEST_CASE("a file is served with its type, length, validators and nosniff") {
    static_files app(shared_root().root.string());
    auto r = get(app, "/hello.txt");
    CHECK(r.status == 200);
    CHECK(r.body == "hello\n");
    CHECK(r.header("Content-Type") == "text/plain; charset=utf-8");
    CHECK(r.header("Content-Length") == "6");
    CHECK(r.header("X-Content-Type-Options") == "nosniff");
    CHECK(r.header("Accept-Ranges") == "bytes");
    CHECK(r.header("ETag").has_value());
    CHECK(r.header("Last-Modified").has_value());
    CHECK(!r.header("Cache-Control").has_value());
}

// Out of descriptors is the server's state, not the file's: a client must not be told an existing
// file is missing (404) while the table is full. The soft limit is lowered to what is open now,
// and restored.
TEST_CASE("a file that cannot be opened for want of a descriptor is 503, not 404") {
    static_files app(shared_root().root.string());
    static_files listing(shared_root().root.string(), {.index = "", .list_directories = true});
    rlimit was{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &was) == 0);
    std::vector<int> fillers;
    rlimit low = was;
    low.rlim_cur = 64;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
    for (int fd; (fd = ::open("/dev/null", O_RDONLY)) >= 0;) fillers.push_back(fd);
    auto full = get(app, "/hello.txt");
    // One descriptor free: the directory opens, its index does not, nor does a listing's read.
    ::close(fillers.back());
    fillers.pop_back();
    auto index = get(app, "/");
    auto listed = get(listing, "/docs/");
    for (int fd : fillers) ::close(fd);
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &was) == 0);
    CHECK(full.status == 503);
    CHECK(index.status == 503);
    CHECK(listed.status == 503);
    CHECK(get(app, "/hello.txt").status == 200);
    CHECK(get(app, "/").status == 200);
    CHECK(get(listing, "/docs/").status == 200);
    CHECK(get(app, "/missing.txt").status == 404);
}

TEST_CASE("the ETag is strong and made of inode, size and nanosecond mtime; Last-Modified is IMF-fixdate") {
    static_files app(shared_root().root.string());
    auto r = get(app, "/digits.txt");
    struct stat st {};
    REQUIRE(::stat((shared_root().root / "digits.txt").c_str(), &st) == 0);
    char expected[128];
    std::snprintf(expected, sizeof expected, "\"%llx-a-%llx\"", static_cast<unsigned long long>(st.st_ino),
                  static_cast<unsigned long long>(digits_mtime) * 1000000000ull + 500000000ull);
    CHECK(r.header("ETag") == expected);
    CHECK(r.header("Last-Modified") == digits_date);
}

TEST_CASE("a modification time in the future is sent as the present (RFC 9110 8.8.2.1)") {
    auto dir = fs::temp_directory_path() / ("porthole-future-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    write_file(dir / "later.txt", "from the future");
    auto future = std::time(nullptr) + 10 * 86400;
    timespec times[2] = {{future, 0}, {future, 0}};
    REQUIRE(::utimensat(AT_FDCWD, (dir / "later.txt").c_str(), times, 0) == 0);
    static_files app(dir.string());
    auto before = std::time(nullptr);
    auto r = get(app, "/later.txt");
    auto after = std::time(nullptr);
    REQUIRE(r.status == 200);
    auto sent = parse_http_date(r.header("Last-Modified").value_or(""));
    REQUIRE(sent.has_value());
    CHECK(*sent >= before);
    CHECK(*sent <= after);
    // What was sent validates: If-Modified-Since of it is a 304.
    CHECK(get(app, "/later.txt", {{"If-Modified-Since", std::string(r.header("Last-Modified").value_or(""))}}).status ==
          304);
    fs::remove_all(dir);
}

TEST_CASE("the body is a file body on the descriptor that was checked") {
    static_files app(shared_root().root.string());
    auto res = app(make_request("/digits.txt", "/digits.txt"));
    auto* f = std::get_if<file_body>(&res.body());
    REQUIRE(f != nullptr);
    REQUIRE(f->fd);
    struct stat by_fd {
    }, by_path{};
    REQUIRE(::fstat(f->fd->get(), &by_fd) == 0);
    REQUIRE(::stat((shared_root().root / "digits.txt").c_str(), &by_path) == 0);
    CHECK(by_fd.st_ino == by_path.st_ino);
    CHECK(f->offset == 0);
    CHECK(f->length == 10);
}

TEST_CASE("HEAD gets the headers of GET and no body") {
    static_files app(shared_root().root.string());
    auto r = testing::send(app, simple_request{method::head, "/hello.txt", {}, {}});
    CHECK(r.status == 200);
    CHECK(r.header("Content-Length") == "6");
    CHECK(r.body.empty());
    testing::client c(app);
    c.send("HEAD /hello.txt HTTP/1.1\r\nHost: t\r\n\r\nGET /digits.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    auto rs = c.responses({true, false});
    REQUIRE(rs.size() == 2);
    CHECK(rs[1].body == "0123456789");
}

TEST_CASE("an empty file is served as 200 with Content-Length 0") {
    static_files app(shared_root().root.string());
    auto r = get(app, "/empty.txt");
    CHECK(r.status == 200);
    CHECK(r.header("Content-Length") == "0");
    CHECK(r.body.empty());
}

TEST_CASE("a percent-encoded name and an escaped percent sign reach the file") {
    static_files app(shared_root().root.string());
    CHECK(get(app, "/a%25b.txt").body == "percent");
    CHECK(get(app, "/%68ello.txt").body == "hello\n");
}

TEST_CASE("methods other than GET and HEAD get 405 with Allow; OPTIONS gets 204 with Allow") {
    static_files app(shared_root().root.string());
    for (auto m : {method::post, method::put, method::delete_, method::patch, method::trace}) {
        auto r = testing::send(app, simple_request{m, "/hello.txt", {}, {}});
        CHECK(r.status == 405);
        CHECK(r.header("Allow") == "GET, HEAD, OPTIONS");
    }
    auto r = testing::send(app, simple_request{method::options, "/hello.txt", {}, {}});
    CHECK(r.status == 204);
    CHECK(r.header("Allow") == "GET, HEAD, OPTIONS");
}

TEST_CASE("Cache-Control is sent on 200, 206 and 304 when configured") {
    static_options o;
    o.cache_control = "public, max-age=3600";
    static_files app(shared_root().root.string(), o);
    CHECK(get(app, "/hello.txt").header("Cache-Control") == "public, max-age=3600");
    CHECK(get(app, "/digits.txt", {{"Range", "bytes=0-1"}}).header("Cache-Control") == "public, max-age=3600");
    auto nm = get(app, "/digits.txt", {{"If-None-Match", digits_etag()}});
    CHECK(nm.status == 304);
    CHECK(nm.header("Cache-Control") == "public, max-age=3600");
}

TEST_CASE("a root that is not a directory throws at construction") {
    CHECK_THROWS_AS(static_files((shared_root().root / "hello.txt").string()), std::system_error);
    CHECK_THROWS_AS(static_files((shared_root().base / "missing").string()), std::system_error);
}

// ---------------------------------------------------------------- MIME types

TEST_CASE("served files carry their MIME type; options add and override types") {
    static_options o;
    o.mime_types = {
        {"json", "application/vnd.test+json"}, {".noextx", "text/x-custom"}, {"txt", "text/plain; charset=latin1"}};
    static_files plain(shared_root().root.string());
    static_files custom(shared_root().root.string(), o);
    CHECK(get(plain, "/upper.HTML").header("Content-Type") == "text/html; charset=utf-8");
    CHECK(get(plain, "/noext").header("Content-Type") == "application/octet-stream");
    CHECK(get(custom, "/data.json").header("Content-Type") == "application/vnd.test+json; charset=utf-8");
    CHECK(get(custom, "/hello.txt").header("Content-Type") == "text/plain; charset=latin1");
    CHECK(custom.content_type_for("a.NOEXTX") == "text/x-custom; charset=utf-8");
    CHECK(custom.content_type_for("a.png") == "image/png");
}

// ---------------------------------------------------------------- directories

TEST_CASE("a directory with a trailing slash serves its index.html") {
    static_files app(shared_root().root.string());
    auto r = get(app, "/");
    CHECK(r.status == 200);
    CHECK(r.body == "<h1>home</h1>");
    CHECK(r.header("Content-Type") == "text/html; charset=utf-8");
    CHECK(get(app, "/docs/").body == "<h1>docs</h1>");
}

TEST_CASE("a directory without an index is 404 unless listing is enabled") {
    static_files app(shared_root().root.string());
    CHECK(get(app, "/sub/").status == 404);
    static_options no_index;
    no_index.index = "";
    static_files bare(shared_root().root.string(), no_index);
    CHECK(get(bare, "/docs/").status == 404);
}

TEST_CASE("a directory without a trailing slash redirects to the slash form, keeping the query") {
    static_files app(shared_root().root.string());
    auto r = get(app, "/docs");
    CHECK(r.status == 301);
    CHECK(r.header("Location") == "/docs/");
    CHECK(get(app, "/docs?x=1&y=%20").header("Location") == "/docs/?x=1&y=%20");
    CHECK(get(app, "/sub").header("Location") == "/sub/");  // even without an index
    CHECK(get(app, "/d%6fcs").header("Location") == "/d%6fcs/");
    // What the parser lets into a target but a URI may not hold is encoded (RFC 9112 3: "with
    // the request-target properly encoded"), the target's own escapes kept.
    CHECK(get(app, "/docs/q{^}`").header("Location") == "/docs/q%7B%5E%7D%60/");
    CHECK(get(app, "/docs/q%7B^}`?a=\"<b>|&c=%20").header("Location") == "/docs/q%7B%5E%7D%60/?a=%22%3Cb%3E%7C&c=%20");
    CHECK(get(app, "/docs?q=100%&r=%zz").header("Location") == "/docs/?q=100%25&r=%25zz");
}

TEST_CASE("the redirect Location always starts with a single slash") {
    static_files app(shared_root().root.string());
    // A mount may hand over a path whose raw form starts with several slashes or backslashes.
    for (std::string_view raw : {"//evil.example/docs", "/\\evil.example/docs", "\\\\evil.example/docs", "///docs"}) {
        auto res = app(make_request("/docs", raw));
        CHECK(res.status() == status::moved_permanently);
        auto location = res.header("Location").value_or("");
        REQUIRE(!location.empty());
        CHECK(location[0] == '/');
        CHECK(location.substr(1, 1) != "/");
        CHECK(location.substr(1, 1) != "\\");
    }
}

TEST_CASE("mounted under a prefix, the handler serves the rest of the path and redirects with the prefix") {
    static_files files(shared_root().root.string());
    auto mounted = [&](request const& req) -> response {
        auto p = req.path();
        if (p.substr(0, 7) != "/static") return response(status::not_found);
        return files(req.with_path(p.substr(7)));
    };
    CHECK(testing::get(mounted, "/static/hello.txt").body == "hello\n");
    CHECK(testing::get(mounted, "/static/").body == "<h1>home</h1>");
    CHECK(testing::get(mounted, "/static/docs").header("Location") == "/static/docs/");
    auto bare = testing::get(mounted, "/static");
    CHECK(bare.status == 301);
    CHECK(bare.header("Location") == "/static/");
}

TEST_CASE("directory listing, when enabled, escapes names and hides dotfiles") {
    static_options o;
    o.list_directories = true;
    static_files app(shared_root().root.string(), o);
    auto r = get(app, "/sub/");
    CHECK(r.status == 200);
    CHECK(r.header("Content-Type") == "text/html; charset=utf-8");
    CHECK(r.body.find("a.txt") != std::string::npos);
    CHECK(r.body.find("&lt;b&gt;&amp;&quot;x&quot;.txt") != std::string::npos);
    CHECK(r.body.find("<b>") == std::string::npos);
    CHECK(r.body.find("href=\"./%3Cb%3E%26%22x%22.txt\"") != std::string::npos);
    o.index = "";
    static_files root_listing(shared_root().root.string(), o);
    auto top = get(root_listing, "/");
    CHECK(top.body.find("docs/") != std::string::npos);
    CHECK(top.body.find(".hidden") == std::string::npos);
    CHECK(top.body.find(".git") == std::string::npos);
    CHECK(top.body.find("<title>Index of /</title>") != std::string::npos);
    // Only what a request could get: no FIFO, and no link while links are not followed.
    CHECK(top.body.find("hello.txt") != std::string::npos);
    CHECK(top.body.find("pipe") == std::string::npos);
    CHECK(top.body.find("link_in") == std::string::npos);
    static_options follow = o;
    follow.follow_symlinks = true;
    static_files following(shared_root().root.string(), follow);
    auto followed = get(following, "/");
    CHECK(followed.body.find("href=\"./link_in\"") != std::string::npos);
    CHECK(followed.body.find("pipe") == std::string::npos);

    // Mounted, the title names the path the client asked for, prefix and all, decoded.
    auto app2 = router{mount<"/files">(root_listing)};
    auto sub = testing::get(app2, "/files/sub/");
    CHECK(sub.status == 200);
    CHECK(sub.body.find("<title>Index of /files/sub/</title>") != std::string::npos);
    CHECK(sub.body.find("<h1>Index of /files/sub/</h1>") != std::string::npos);
    // Every escape decoded for the title, '%' too, as nginx shows it; the title escaped for HTML.
    auto percent = testing::get(app2, "/files/%73ub/");
    CHECK(percent.body.find("<title>Index of /files/sub/</title>") != std::string::npos);
    auto hundred = testing::get(app2, "/files/sub/100%25/");
    CHECK(hundred.status == 200);
    CHECK(hundred.body.find("<title>Index of /files/sub/100%/</title>") != std::string::npos);
}

TEST_CASE("a file requested with a trailing slash is 404") {
    static_files app(shared_root().root.string());
    CHECK(get(app, "/hello.txt/").status == 404);
}

TEST_CASE("a FIFO or other special file is 404, without blocking") {
    static_files app(shared_root().root.string());
    CHECK(get(app, "/pipe").status == 404);
}

TEST_CASE("missing files are 404") {
    static_files app(shared_root().root.string());
    CHECK(get(app, "/nope.txt").status == 404);
    CHECK(get(app, "/nope/deeper.txt").status == 404);
    CHECK(get(app, "/hello.txt/deeper").status == 404);
}

// ---------------------------------------------------------------- confinement

TEST_CASE("dotfiles are 404 by default and served when allowed") {
    static_files app(shared_root().root.string());
    CHECK(get(app, "/.hidden").status == 404);
    CHECK(get(app, "/.git/config").status == 404);
    CHECK(get(app, "/%2egit/config").status == 404);
    static_options o;
    o.allow_dotfiles = true;
    static_files open(shared_root().root.string(), o);
    CHECK(get(open, "/.hidden").body == "hidden");
    CHECK(get(open, "/.git/config").body == "[core]");
}

TEST_CASE("encoded traversal attempts get 400 or 404 and never a byte from outside the root") {
    for (bool walk : {false, true}) {
        CAPTURE(walk);
        resolver_mode mode(walk);
        static_files app(shared_root().root.string());
        static_options o;
        o.follow_symlinks = true;
        o.allow_dotfiles = true;
        static_files lenient(shared_root().root.string(), o);
        for (std::string target : {"/../outside.txt",
                                   "/%2e%2e/outside.txt",
                                   "/%2E%2e/outside.txt",
                                   "/%2e%2E/outside.txt",
                                   "/.%2e/outside.txt",
                                   "/%2e./outside.txt",
                                   "/..%2foutside.txt",
                                   "/..%2Foutside.txt",
                                   "/%2e%2e%2foutside.txt",
                                   "/..%5coutside.txt",
                                   "/..%5Coutside.txt",
                                   "/..\\outside.txt",
                                   "/sub/../../outside.txt",
                                   "/sub/%2e%2e/%2e%2e/outside.txt",
                                   "/hello.txt%00",
                                   "/%00",
                                   "/..%00/outside.txt",
                                   "//etc/passwd",
                                   "///etc/passwd",
                                   "/%2fetc/passwd",
                                   "/%2Fetc%2Fpasswd",
                                   "/%5cetc%5cpasswd",
                                   "/../../../../../../../../etc/passwd",
                                   "/./hello.txt",
                                   "/sub/./a.txt",
                                   "/sub//a.txt",
                                   "/%252e%252e/outside.txt",
                                   "http://h/../outside.txt",
                                   "http://h/%2e%2e/outside.txt",
                                   "http://h//etc/passwd",
                                   "http://h/..%2f..%2f..%2fetc/passwd",
                                   "/link_out",
                                   "/link_out/",
                                   "/sub/esc",
                                   "/link_abs",
                                   "/link_abs_inside",
                                   "/loop_a",
                                   "/sub/up/",
                                   "/link_self/../outside.txt"}) {
            CAPTURE(target);
            for (auto* a : {&app, &lenient}) {
                auto out = raw_exchange(*a, "GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n");
                CHECK(!leaks(out));
                auto rs = testing::parse_responses(out);
                REQUIRE(!rs.empty());
                CHECK((rs[0].status == 400 || rs[0].status == 404));
            }
        }
    }
}

TEST_CASE("symbolic links are refused by default") {
    for (bool walk : {false, true}) {
        CAPTURE(walk);
        resolver_mode mode(walk);
        static_files app(shared_root().root.string());
        CHECK(get(app, "/link_in").status == 404);
        CHECK(get(app, "/link_dir_in/a.txt").status == 404);
        CHECK(get(app, "/sub/up").status == 404);
        CHECK(get(app, "/link_self/").status == 404);
        CHECK(get(app, "/link_out").status == 404);
    }
}

TEST_CASE("with follow_symlinks, links that stay inside are served and links out are not") {
    for (bool walk : {false, true}) {
        CAPTURE(walk);
        resolver_mode mode(walk);
        static_options o;
        o.follow_symlinks = true;
        static_files app(shared_root().root.string(), o);
        CHECK(get(app, "/link_in").body == "hello\n");
        CHECK(get(app, "/link_dir_in/a.txt").body == "in sub");
        CHECK(get(app, "/sub/up").body == "hello\n");
        CHECK(get(app, "/link_self/").body == "<h1>home</h1>");
        CHECK(get(app, "/link_self/link_self/hello.txt").body == "hello\n");
        CHECK(get(app, "/link_dir_in").status == 301);
        CHECK(get(app, "/link_out").status == 404);
        CHECK(get(app, "/sub/esc").status == 404);
        CHECK(get(app, "/link_abs").status == 404);
        CHECK(get(app, "/link_abs_inside").status == 404);  // absolute targets are refused
        CHECK(get(app, "/loop_a").status == 404);
    }
}

TEST_CASE("the traversal corpus never gets a byte from outside the corpus document root") {
    auto dir = fs::path(PORTHOLE_SOURCE_DIR) / "tests" / "corpus" / "hostile";
    auto www = fs::path(PORTHOLE_SOURCE_DIR) / "tests" / "corpus" / "docroot" / "www";
    REQUIRE(read_all(www / ".." / "outside.txt").find(corpus_marker) != std::string::npos);
    std::vector<std::string> files;
    for (auto const& folder : test_support::corpus_folders("hostile"))
        for (auto const& row : test_support::read_index(folder.path + "/index.tsv"))
            if (test_support::cell(row, "expected") == "no-escape")
                files.push_back(folder.path + "/" + test_support::cell(row, "file"));
    REQUIRE(files.size() >= 12);
    for (bool walk : {false, true}) {
        resolver_mode mode(walk);
        static_options lenient;
        lenient.follow_symlinks = true;
        lenient.allow_dotfiles = true;
        static_files strict(www.string());
        static_files open(www.string(), lenient);
        for (auto const& file : files) {
            CAPTURE(file);
            auto bytes = read_all(file);
            REQUIRE(!bytes.empty());
            CHECK(!leaks(raw_exchange(strict, bytes)));
            CHECK(!leaks(raw_exchange(open, bytes)));
        }
    }
    // The root itself is served: the checks above are not vacuous.
    static_files strict(www.string());
    CHECK(get(strict, "/hello.txt").status == 200);
    CHECK(get(strict, "/sub/page.txt").body == read_all(www / "sub" / "page.txt"));
}

// ---------------------------------------------------------------- conditional requests

TEST_CASE("If-None-Match: a matching tag gives 304 with validators and no body, others 200") {
    static_files app(shared_root().root.string());
    auto tag = digits_etag();
    auto r = get(app, "/digits.txt", {{"If-None-Match", tag}});
    CHECK(r.status == 304);
    CHECK(r.header("ETag") == tag);
    CHECK(r.header("Last-Modified") == digits_date);
    CHECK(r.body.empty());
    CHECK(!r.header("Content-Length").has_value());
    CHECK(get(app, "/digits.txt", {{"If-None-Match", "\"other\""}}).status == 200);
    CHECK(get(app, "/digits.txt", {{"If-None-Match", "\"a\", " + tag + ", \"b\""}}).status == 304);
    CHECK(get(app, "/digits.txt", {{"If-None-Match", "W/" + tag}}).status == 304);  // weak comparison
    CHECK(get(app, "/digits.txt", {{"If-None-Match", "*"}}).status == 304);
    CHECK(get(app, "/digits.txt", {{"If-None-Match", "garbage"}}).status == 200);
    // Malformed anywhere, after the matching tag too: it matches nothing.
    CHECK(get(app, "/digits.txt", {{"If-None-Match", tag + ", junk"}}).status == 200);
    CHECK(get(app, "/digits.txt", {{"If-None-Match", "junk, " + tag}}).status == 200);
    CHECK(get(app, "/digits.txt", {{"If-None-Match", "\"a\""}, {"If-None-Match", tag}}).status == 304);  // two lines
    CHECK(testing::send(app, simple_request{method::head, "/digits.txt", {{"If-None-Match", tag}}, {}}).status == 304);
}

TEST_CASE("If-Modified-Since: 304 when not modified since, 200 otherwise or when invalid") {
    static_files app(shared_root().root.string());
    CHECK(get(app, "/digits.txt", {{"If-Modified-Since", digits_date}}).status == 304);
    CHECK(get(app, "/digits.txt", {{"If-Modified-Since", "Fri, 03 Jan 2020 00:00:00 GMT"}}).status == 304);
    CHECK(get(app, "/digits.txt", {{"If-Modified-Since", "Thu, 02 Jan 2020 03:04:04 GMT"}}).status == 200);
    CHECK(get(app, "/digits.txt", {{"If-Modified-Since", "yesterday"}}).status == 200);
    // On two lines it is a list of dates, which RFC 9110 13.1.3 ignores: 200, even with both lines the date.
    CHECK(get(app, "/digits.txt", {{"If-Modified-Since", digits_date}, {"If-Modified-Since", digits_date}}).status ==
          200);
}

TEST_CASE("If-None-Match wins over If-Modified-Since") {
    static_files app(shared_root().root.string());
    auto tag = digits_etag();
    // The tag differs: 200 although the date alone would give 304.
    CHECK(get(app, "/digits.txt", {{"If-None-Match", "\"other\""}, {"If-Modified-Since", digits_date}}).status == 200);
    // The tag matches: 304 although the date alone would give 200.
    CHECK(get(app, "/digits.txt", {{"If-None-Match", tag}, {"If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT"}})
              .status == 304);
}

TEST_CASE("If-Match: strong comparison, * matches, a mismatch is 412") {
    static_files app(shared_root().root.string());
    auto tag = digits_etag();
    CHECK(get(app, "/digits.txt", {{"If-Match", tag}}).status == 200);
    CHECK(get(app, "/digits.txt", {{"If-Match", "\"x\", " + tag}}).status == 200);
    CHECK(get(app, "/digits.txt", {{"If-Match", "*"}}).status == 200);
    CHECK(get(app, "/digits.txt", {{"If-Match", "\"other\""}}).status == 412);
    CHECK(get(app, "/digits.txt", {{"If-Match", "W/" + tag}}).status == 412);
    CHECK(get(app, "/digits.txt", {{"If-Match", "garbage"}}).status == 412);
    CHECK(get(app, "/digits.txt", {{"If-Match", "\"a\""}, {"If-Match", tag}}).status == 200);  // two lines
}

TEST_CASE("If-Unmodified-Since: 412 when modified since, 200 otherwise") {
    static_files app(shared_root().root.string());
    CHECK(get(app, "/digits.txt", {{"If-Unmodified-Since", digits_date}}).status == 200);
    CHECK(get(app, "/digits.txt", {{"If-Unmodified-Since", "Fri, 03 Jan 2020 00:00:00 GMT"}}).status == 200);
    CHECK(get(app, "/digits.txt", {{"If-Unmodified-Since", "Thu, 02 Jan 2020 03:04:04 GMT"}}).status == 412);
    CHECK(get(app, "/digits.txt", {{"If-Unmodified-Since", "not a date"}}).status == 200);  // ignored
    // On two lines, a list of dates (RFC 9110 13.1.4): ignored, though either alone gives 412.
    CHECK(get(app, "/digits.txt",
              {{"If-Unmodified-Since", "Thu, 02 Jan 2020 03:04:04 GMT"},
               {"If-Unmodified-Since", "Thu, 02 Jan 2020 03:04:04 GMT"}})
              .status == 200);
}

TEST_CASE("If-Match wins over If-Unmodified-Since") {
    static_files app(shared_root().root.string());
    auto tag = digits_etag();
    CHECK(
        get(app, "/digits.txt", {{"If-Match", tag}, {"If-Unmodified-Since", "Mon, 01 Jan 2001 00:00:00 GMT"}}).status ==
        200);
    CHECK(get(app, "/digits.txt", {{"If-Match", "\"other\""}, {"If-Unmodified-Since", "Fri, 03 Jan 2020 00:00:00 GMT"}})
              .status == 412);
}

TEST_CASE("preconditions are evaluated before If-None-Match and If-Modified-Since") {
    static_files app(shared_root().root.string());
    auto tag = digits_etag();
    CHECK(get(app, "/digits.txt", {{"If-Match", "\"other\""}, {"If-None-Match", tag}}).status == 412);
    CHECK(get(app, "/digits.txt", {{"If-Unmodified-Since", "Mon, 01 Jan 2001 00:00:00 GMT"}, {"If-None-Match", tag}})
              .status == 412);
    CHECK(get(app, "/digits.txt", {{"If-Match", tag}, {"If-None-Match", tag}}).status == 304);
}

// ---------------------------------------------------------------- ranges

namespace {
parsed_response range(static_files& app, std::string value,
                      std::vector<std::pair<std::string, std::string>> more = {}) {
    more.emplace_back("Range", std::move(value));
    return get(app, "/digits.txt", std::move(more));
}
}  // namespace

TEST_CASE("single byte ranges at the edges give 206 with Content-Range") {
    static_files app(shared_root().root.string());
    struct {
        char const* range;
        char const* body;
        char const* content_range;
    } cases[] = {
        {"bytes=0-0", "0", "bytes 0-0/10"},
        {"bytes=9-9", "9", "bytes 9-9/10"},
        {"bytes=-1", "9", "bytes 9-9/10"},
        {"bytes=5-", "56789", "bytes 5-9/10"},
        {"bytes=0-", "0123456789", "bytes 0-9/10"},
        {"bytes=2-4", "234", "bytes 2-4/10"},
        {"bytes=-20", "0123456789", "bytes 0-9/10"},  // suffix longer than the file
        {"bytes=5-100", "56789", "bytes 5-9/10"},     // end clamped
        {"bytes=5-99999999999999999999999", "56789", "bytes 5-9/10"},
        {"BYTES=1-1", "1", "bytes 1-1/10"},  // the unit is case-insensitive
        {"bytes= 3-3 ", "3", "bytes 3-3/10"},
    };
    for (auto const& c : cases) {
        CAPTURE(c.range);
        auto r = range(app, c.range);
        CHECK(r.status == 206);
        CHECK(r.body == c.body);
        CHECK(r.header("Content-Range") == c.content_range);
        CHECK(r.header("Content-Length") == std::to_string(std::string_view(c.body).size()));
    }
}

TEST_CASE("unsatisfiable ranges give 416 with Content-Range bytes */size") {
    static_files app(shared_root().root.string());
    for (auto v : {"bytes=10-", "bytes=10-20", "bytes=100-200", "bytes=-0", "bytes=99999999999999999999-"}) {
        CAPTURE(v);
        auto r = range(app, v);
        CHECK(r.status == 416);
        CHECK(r.header("Content-Range") == "bytes */10");
        CHECK(r.body.find('0') == std::string::npos);
    }
    auto empty = get(app, "/empty.txt", {{"Range", "bytes=0-"}});
    CHECK(empty.status == 416);
    CHECK(empty.header("Content-Range") == "bytes */0");
    // A suffix of an empty file is satisfiable (RFC 9110 14.1.1), and no range of it can be
    // sent: the whole, empty file.
    auto suffix = get(app, "/empty.txt", {{"Range", "bytes=-1"}});
    CHECK(suffix.status == 200);
    CHECK(suffix.header("Content-Length") == "0");
}

TEST_CASE("invalid Range syntax, other units and several ranges are answered whole with 200") {
    static_files app(shared_root().root.string());
    for (auto v : {"bytes=abc", "bytes=5-2", "bytes=--1", "bytes=1-2-3", "bytes=", "bytes", "items=0-1", "bytes=0x1-2",
                   "bytes=-", "bytes=+1-2", "bytes=0-1,3-4", "bytes=0-0, -1"}) {
        CAPTURE(v);
        auto r = range(app, v);
        CHECK(r.status == 200);
        CHECK(r.body == "0123456789");
        CHECK(!r.header("Content-Range").has_value());
    }
    // A Range in two field lines is no one range.
    auto two = get(app, "/digits.txt", {{"Range", "bytes=0-0"}, {"Range", "bytes=1-1"}});
    CHECK(two.status == 200);
    CHECK(two.body == "0123456789");
}

TEST_CASE("HEAD ignores Range") {
    static_files app(shared_root().root.string());
    auto r = testing::send(app, simple_request{method::head, "/digits.txt", {{"Range", "bytes=0-0"}}, {}});
    CHECK(r.status == 200);
    CHECK(r.header("Content-Length") == "10");
}

TEST_CASE("If-Range: a strong tag or the exact date keeps the range, anything else gives the whole file") {
    static_files app(shared_root().root.string());
    auto tag = digits_etag();
    CHECK(range(app, "bytes=0-1", {{"If-Range", tag}}).status == 206);
    CHECK(range(app, "bytes=0-1", {{"If-Range", digits_date}}).status == 206);
    auto mismatch = range(app, "bytes=0-1", {{"If-Range", "\"other\""}});
    CHECK(mismatch.status == 200);
    CHECK(mismatch.body == "0123456789");
    CHECK(range(app, "bytes=0-1", {{"If-Range", "W/" + tag}}).status == 200);
    CHECK(range(app, "bytes=0-1", {{"If-Range", "Fri, 03 Jan 2020 00:00:00 GMT"}}).status == 200);
    CHECK(range(app, "bytes=0-1", {{"If-Range", "nonsense"}}).status == 200);
    CHECK(range(app, "bytes=0-1", {{"If-Range", tag}, {"If-Range", tag}}).status == 200);  // two lines: no validator
    CHECK(range(app, "bytes=50-", {{"If-Range", "\"other\""}}).status == 200);             // no 416 either
}

TEST_CASE("a range is served as a file body slice") {
    static_files app(shared_root().root.string());
    header_field h[] = {{"Range", "bytes=3-5"}};
    auto res = app(make_request("/digits.txt", "/digits.txt", h));
    auto* f = std::get_if<file_body>(&res.body());
    REQUIRE(f != nullptr);
    CHECK(f->offset == 3);
    CHECK(f->length == 3);
}

TEST_CASE("a Cache-Control or MIME type no response can carry is refused where static_files is made") {
    auto root = shared_root().root.string();
    CHECK_THROWS_WITH_AS(static_files(root, {.cache_control = "max-age=60\r\nSet-Cookie: a=b"}),
                         doctest::Contains("Cache-Control"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(static_files(root, {.mime_types = {{".txt", "text/plain\n"}}}),
                         doctest::Contains("mime_types"), std::invalid_argument);
    CHECK_NOTHROW(static_files(root, {.cache_control = "public, max-age=60", .mime_types = {{".x", "text/x"}}}));
}

// static_files on Windows (run under Wine here): the root is left by none of Windows' own
// traversal classes (device names, alternate data streams, trailing dots and spaces,
// backslashes, drive letters, links that leave the root), and names are UTF-8 at the interface.
#include <porthole/porthole.hpp>

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <io.h>

using namespace porthole;
using porthole::testing::parsed_response;
using porthole::testing::simple_request;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view outside_marker = "OUTSIDE-MARKER-win-5d1e";

void write_file(fs::path const& p, std::string_view content) {
    std::ofstream out(p, std::ios::binary);
    out << content;
}

std::string utf8(fs::path const& p) {
    auto s = p.u8string();
    return std::string(s.begin(), s.end());
}

// base/outside.txt (the secret), base/www (the root) with hello.txt, sub/a.txt, a UTF-8 name,
// and links: in_link -> sub (inside), out_link -> base (outside), where links can be made.
struct test_root {
    fs::path base, root;
    bool links = false;
    test_root() {
        base = fs::temp_directory_path() / ("porthole_win_static_" + std::to_string(::GetCurrentProcessId()));
        fs::remove_all(base);
        root = base / "www";
        fs::create_directories(root / "sub");
        write_file(base / "outside.txt", outside_marker);
        write_file(root / "hello.txt", "hello\n");
        write_file(root / "sub" / "a.txt", "in sub");
        write_file(root / fs::path(u8"caf\u00e9.txt"), "utf-8 name");
        write_file(root / ".hidden", "hidden");
        write_file(root / "a_long_file_name.txt", "long name");
        std::error_code in, out;
        fs::create_directory_symlink(root / "sub", root / "in_link", in);
        fs::create_directory_symlink(base, root / "out_link", out);
        links = !in && !out;
    }
    ~test_root() {
        std::error_code ec;
        fs::remove_all(base, ec);
    }
};

test_root& shared_root() {
    static test_root r;
    return r;
}

parsed_response get(static_files& app, std::string target) {
    return testing::send(app, simple_request{method::get, std::move(target), {}, {}});
}

bool leaks(parsed_response const& r) { return r.body.find(outside_marker) != std::string::npos; }

// Every target in `targets` is refused with `expected` and sends nothing from the files.
void check_refused(static_files& app, std::initializer_list<char const*> targets, unsigned expected) {
    for (auto const* t : targets) {
        std::string target = t;
        auto r = get(app, target);
        CAPTURE(target);
        CHECK(r.status == expected);
        CHECK(!leaks(r));
        CHECK(r.body.find("hello") == std::string::npos);
    }
}

}  // namespace

TEST_CASE("a file is served by its UTF-8 name, and the root opens from a UTF-8 path") {
    static_files app(utf8(shared_root().root));
    auto r = get(app, "/hello.txt");
    CHECK(r.status == 200);
    CHECK(r.body == "hello\n");
    CHECK(r.header("Content-Type") == "text/plain; charset=utf-8");
    auto u = get(app, "/caf%C3%A9.txt");
    CHECK(u.status == 200);
    CHECK(u.body == "utf-8 name");
    CHECK(get(app, "/sub/a.txt").body == "in sub");
    CHECK(get(app, "/.hidden").status == 404);
    CHECK(get(app, "/caf%E9.txt").status == 404);  // Latin-1, not UTF-8: no such name
}

TEST_CASE("validators: the ETag changes with the file, If-None-Match gives 304, a range is served") {
    static_files app(utf8(shared_root().root));
    auto r = get(app, "/hello.txt");
    std::string etag(r.header("ETag").value_or(""));
    REQUIRE(etag.size() > 2);
    auto again = testing::send(app, simple_request{method::get, "/hello.txt", {{"If-None-Match", etag}}, {}});
    CHECK(again.status == 304);
    auto range = testing::send(app, simple_request{method::get, "/hello.txt", {{"Range", "bytes=1-3"}}, {}});
    CHECK(range.status == 206);
    CHECK(range.body == "ell");
    auto p = shared_root().root / "changing.txt";
    write_file(p, "one");
    std::string first(get(app, "/changing.txt").header("ETag").value_or(""));
    write_file(p, "three");
    std::string second(get(app, "/changing.txt").header("ETag").value_or(""));
    CHECK(first != second);
}

TEST_CASE("device names are refused in any case, with an extension, or deeper in the path") {
    static_files app(utf8(shared_root().root));
    check_refused(app,
                  {"/CON",     "/con",      "/nul",     "/NUL.txt",       "/nul.tar.gz", "/Aux",           "/PRN.html",
                   "/com1",    "/COM9.log", "/COM0",    "/lpt1",          "/LPT%C2%B9",  "/com%C2%B3.txt", "/CONIN$",
                   "/conout$", "/CLOCK$",   "/sub/con", "/con/hello.txt", "/NUL%20.txt", "/sub/nul%20%20"},
                  404);
}

TEST_CASE("alternate data streams are refused: name:stream and ::$DATA") {
    static_files app(utf8(shared_root().root));
    check_refused(app,
                  {"/hello.txt::$DATA", "/hello.txt:secret", "/hello.txt:secret:$DATA", "/hello.txt%3A%3A%24DATA",
                   "/sub:stream/a.txt", "/sub/a.txt::$INDEX_ALLOCATION"},
                  404);
}

TEST_CASE("trailing dots and spaces, which Windows would drop, are refused") {
    static_files app(utf8(shared_root().root));
    check_refused(app,
                  {"/hello.txt.", "/hello.txt..", "/hello.txt%20", "/hello.txt.%20.", "/sub./a.txt", "/sub%20/a.txt",
                   "/...", "/..%20/outside.txt", "/.%20./outside.txt"},
                  404);
}

TEST_CASE("backslashes, drive letters and other reserved characters never reach a path") {
    static_files app(utf8(shared_root().root));
    check_refused(app, {"/..%5Coutside.txt", "/sub%5Ca.txt", "/sub%5C..%5C..%5Coutside.txt", "/%5C%5C.%5CC:%5C"}, 400);
    check_refused(app,
                  {"/C:/windows/win.ini", "/C:", "/Z:/etc/passwd", "/hello*.txt", "/hello%3F.txt", "/a%3Cb%3E.txt",
                   "/hello.txt%7C", "/hel%22lo.txt"},
                  404);
    // The raw bytes of a request line with a backslash: refused before any file is opened.
    testing::client c(app);
    c.send("GET /..\\outside.txt HTTP/1.1\r\nHost: localhost\r\n\r\n");
    CHECK(c.output().find(outside_marker) == std::string::npos);
    CHECK(c.output().rfind("HTTP/1.1 4", 0) == 0);
}

TEST_CASE("a link that leaves the root is refused; one that stays is served only with follow_symlinks") {
    // Under Wine, CreateSymbolicLinkW makes no link: the meson test passes a tree the build
    // machine made with the same links (tests/windows/meson.build), which Wine follows.
    fs::path root = shared_root().root;
    if (char const* tree = std::getenv("PORTHOLE_LINK_TREE")) {
        root = fs::path(tree) / "www";
        REQUIRE(fs::exists(root / "out_link" / "outside.txt"));  // Wine shows the link as its target
    } else if (!shared_root().links) {
        MESSAGE("no directory links here: run through meson test for the link tree");
        return;
    }
    static_files strict(utf8(root));
    check_refused(strict, {"/out_link/outside.txt", "/in_link/a.txt"}, 404);
    static_options o;
    o.follow_symlinks = true;
    static_files lenient(utf8(root), o);
    check_refused(lenient, {"/out_link/outside.txt"}, 404);
    auto inside = get(lenient, "/in_link/a.txt");
    CHECK(inside.status == 200);
    CHECK(inside.body == "in sub");
    // Out and back in: the final path is below the root, as the POSIX walk resolves it too.
    CHECK(get(lenient, "/out_link/www/sub/a.txt").body == "in sub");
    CHECK(get(strict, "/out_link/www/sub/a.txt").status == 404);
}

// The short (8.3) name the file system gives `p`, or "" when it gives none other than its own.
static std::string short_name_of(fs::path const& p) {
    std::wstring buffer(1024, L'\0');
    DWORD n = ::GetShortPathNameW(p.c_str(), buffer.data(), static_cast<DWORD>(buffer.size()));
    if (n == 0 || n >= buffer.size()) return {};
    buffer.resize(n);
    auto name = utf8(fs::path(buffer).filename());
    return name == utf8(p.filename()) ? std::string() : name;
}

TEST_CASE("a short (8.3) alias of a name is refused, with follow_symlinks too: a dotfile stays hidden") {
    auto const& root = shared_root().root;
    std::string hidden = short_name_of(root / ".hidden"), long_name = short_name_of(root / "a_long_file_name.txt");
    if (hidden.empty() || long_name.empty()) {
        MESSAGE("no short names on this file system");
        return;
    }
    static_options follow;
    follow.follow_symlinks = true;
    static_files strict(utf8(root)), lenient(utf8(root), follow);
    for (auto* app : {&strict, &lenient}) {
        for (auto const& alias : {hidden, long_name}) {
            CAPTURE(alias);
            auto r = get(*app, "/" + alias);
            CHECK(r.status == 404);
            CHECK(r.body.find("hidden") == std::string::npos);
            CHECK(r.body.find("long name") == std::string::npos);
        }
        CHECK(get(*app, "/.hidden").status == 404);
        CHECK(get(*app, "/a_long_file_name.txt").body == "long name");
    }
}

TEST_CASE("out of C runtime descriptors, a file is 503, not 404") {
    static_files app(utf8(shared_root().root));
    std::vector<int> held;
    auto file = utf8(shared_root().root / "hello.txt");
    for (int fd; held.size() < 20000 && (fd = ::_open(file.c_str(), _O_RDONLY | _O_BINARY)) >= 0;) held.push_back(fd);
    auto r = get(app, "/hello.txt");
    for (int fd : held) ::_close(fd);
    REQUIRE(held.size() < 20000);  // the runtime's table did fill
    CHECK(r.status == 503);
    CHECK(get(app, "/hello.txt").status == 200);
}

TEST_CASE("a directory listing gives UTF-8 names and hides dotfiles and unservable names") {
    static_options o;
    o.list_directories = true;
    o.index.clear();
    static_files app(utf8(shared_root().root), o);
    auto r = get(app, "/");
    CHECK(r.status == 200);
    CHECK(r.body.find("caf\xC3\xA9.txt") != std::string::npos);
    CHECK(r.body.find("hello.txt") != std::string::npos);
    CHECK(r.body.find("sub/") != std::string::npos);
    CHECK(r.body.find(".hidden") == std::string::npos);
    CHECK(get(app, "/sub").status == 301);
}

TEST_CASE("a root that is not a directory throws") {
    CHECK_THROWS_AS(static_files(utf8(shared_root().root / "hello.txt")), std::system_error);
    CHECK_THROWS_AS(static_files(utf8(shared_root().base / "missing")), std::system_error);
}

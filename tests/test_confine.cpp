// detail/confine.hpp: a file opened below a root directory, never outside it, by both ways
// (openat2 with RESOLVE_BENEATH, and the walk one segment at a time that stands in for it where
// the kernel has no openat2), which must agree; and a directory's listing.
#include <porthole/detail/confine.hpp>
#include <porthole/unique_fd.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace porthole;

namespace {

// root/{a.txt, sub/b.txt, in_link -> sub, up_link -> sub/.., out_link -> .., abs_link -> /etc,
// loop_a -> loop_b -> loop_a}, and root/../outside.txt, in a fresh temporary directory.
struct tree {
    std::string top;
    unique_fd root;
    tree() {
        char const* tmp = std::getenv("TMPDIR");
        std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/porthole-confine-XXXXXX";
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        top = pattern;
        std::string const r = top + "/root";
        REQUIRE(::mkdir(r.c_str(), 0700) == 0);
        REQUIRE(::mkdir((r + "/sub").c_str(), 0700) == 0);
        write(r + "/a.txt", "A");
        write(r + "/sub/b.txt", "B");
        write(top + "/outside.txt", "OUTSIDE");
        link("sub", r + "/in_link");
        link("sub/..", r + "/up_link");
        link("..", r + "/out_link");
        link("/etc", r + "/abs_link");
        link("loop_b", r + "/loop_a");
        link("loop_a", r + "/loop_b");
        root.reset(detail::open_root_directory(r));
        REQUIRE(root);
    }
    ~tree() { [[maybe_unused]] int removed = std::system(("rm -rf '" + top + "'").c_str()); }
    static void write(std::string const& path, std::string const& text) {
        unique_fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        REQUIRE(fd);
        REQUIRE(::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    }
    static void link(std::string const& target, std::string const& path) {
        REQUIRE(::symlink(target.c_str(), path.c_str()) == 0);
    }
};

// What opening `names` gives: the file's first bytes, "<dir>" for a directory, or "error N".
using opener = int (*)(int, std::vector<std::string> const&, bool, int&);
std::string open_as(opener open, tree const& t, std::vector<std::string> const& names, bool follow) {
    int error = 0;
    unique_fd fd(open(t.root.get(), names, follow, error));
    if (!fd) return "error " + std::to_string(error);
    struct stat st {};
    REQUIRE(::fstat(fd.get(), &st) == 0);
    if (S_ISDIR(st.st_mode)) return "<dir>";
    char buf[16];
    auto n = ::read(fd.get(), buf, sizeof buf);
    return n < 0 ? "unreadable" : std::string(buf, static_cast<std::size_t>(n));
}

void check_confinement(opener open) {
    tree t;
    auto const exdev = "error " + std::to_string(EXDEV);
    CHECK(open_as(open, t, {"a.txt"}, false) == "A");
    CHECK(open_as(open, t, {"sub", "b.txt"}, false) == "B");
    CHECK(open_as(open, t, {}, false) == "<dir>");  // the root itself
    CHECK(open_as(open, t, {"sub"}, false) == "<dir>");
    CHECK(open_as(open, t, {"missing"}, false) == "error " + std::to_string(ENOENT));
    // Links inside the root are followed when asked, and refused otherwise.
    CHECK(open_as(open, t, {"in_link", "b.txt"}, true) == "B");
    CHECK(open_as(open, t, {"up_link", "a.txt"}, true) == "A");
    CHECK(open_as(open, t, {"in_link", "b.txt"}, false).starts_with("error "));
    // Nothing leads out: "..", a link up and out, an absolute link, with or without following.
    CHECK(open_as(open, t, {".."}, true) == exdev);
    CHECK(open_as(open, t, {"sub", "..", "..", "outside.txt"}, true) == exdev);
    CHECK(open_as(open, t, {"out_link", "outside.txt"}, true) == exdev);
    CHECK(open_as(open, t, {"abs_link", "passwd"}, true) == exdev);
    for (bool follow : {true, false}) {
        CAPTURE(follow);
        CHECK(open_as(open, t, {"out_link", "outside.txt"}, follow) != "OUTSIDE");
        CHECK(open_as(open, t, {"abs_link", "passwd"}, follow).starts_with("error "));
    }
    CHECK(open_as(open, t, {"loop_a"}, true) == "error " + std::to_string(ELOOP));
}

}  // namespace

TEST_CASE("the walk: below the root whatever the names and links say") {
    check_confinement(detail::open_beneath_by_walk);
}

#ifdef PORTHOLE_HAVE_OPENAT2
TEST_CASE("openat2, where the kernel has it, agrees with the walk") {
    {
        tree t;
        int error = 0;
        int fd = detail::open_beneath_by_openat2(t.root.get(), {"a.txt"}, false, error);
        if (fd == -2) {  // no openat2 here (an old kernel, or a filter): the walk serves alone
            MESSAGE("openat2 is not available here: only the walk was checked");
            return;
        }
        ::close(fd);
    }
    check_confinement([](int root, std::vector<std::string> const& names, bool follow, int& error) {
        int fd = detail::open_beneath_by_openat2(root, names, follow, error);
        REQUIRE(fd != -2);
        return fd;
    });
}
#endif

TEST_CASE("read_directory lists the names that could be served, without . and .., and which are directories") {
    tree t;
    REQUIRE(::mkfifo((t.top + "/root/pipe").c_str(), 0600) == 0);  // never served: never listed
    std::vector<std::pair<std::string, bool>> entries;
    REQUIRE(detail::read_directory(t.root.get(), true, entries));
    std::sort(entries.begin(), entries.end());
    std::vector<std::pair<std::string, bool>> const expected{
        {"a.txt", false},  {"abs_link", false}, {"in_link", false}, {"loop_a", false},
        {"loop_b", false}, {"out_link", false}, {"sub", true},      {"up_link", false},
    };
    CHECK(entries == expected);  // a link to a directory is not one
    // Without following links, a link is 404 as a FIFO is: not listed.
    entries.clear();
    REQUIRE(detail::read_directory(t.root.get(), false, entries));
    std::sort(entries.begin(), entries.end());
    CHECK(entries == std::vector<std::pair<std::string, bool>>{{"a.txt", false}, {"sub", true}});
    int error = 0;
    unique_fd file(detail::open_beneath(t.root.get(), {"a.txt"}, false, error));
    REQUIRE(file);
    std::vector<std::pair<std::string, bool>> none;
    CHECK(!detail::read_directory(file.get(), true, none));
}

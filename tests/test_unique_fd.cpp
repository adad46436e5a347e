// The owner of a file descriptor (unique_fd.hpp): closes what it owns exactly once, on
// destruction, reset and move assignment, and never what it released or gave away.
#include <porthole/unique_fd.hpp>

#include <doctest/doctest.h>

#include <cerrno>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

using porthole::unique_fd;

namespace {

// Whether `fd` names an open descriptor of this process.
bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

// A pipe's two ends, as raw descriptors the test watches.
struct pipe_ends {
    int read = -1, write = -1;
    pipe_ends() {
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        read = fds[0];
        write = fds[1];
    }
};

}  // namespace

TEST_CASE("an empty owner is false, holds -1 and closes nothing") {
    unique_fd none;
    CHECK_FALSE(none);
    CHECK(none.get() == -1);
    CHECK(none.release() == -1);
    none.reset();  // closing nothing is no error
    CHECK(none.get() == -1);
}

TEST_CASE("the descriptor is closed when its owner goes, and not before") {
    pipe_ends p;
    {
        unique_fd r(p.read);
        CHECK(r);
        CHECK(r.get() == p.read);
        CHECK(is_open(p.read));
    }
    CHECK_FALSE(is_open(p.read));
    ::close(p.write);
}

TEST_CASE("reset closes the old descriptor and owns the new one; reset() leaves it empty") {
    pipe_ends p;
    unique_fd owner(p.read);
    owner.reset(p.write);
    CHECK_FALSE(is_open(p.read));
    CHECK(is_open(p.write));
    CHECK(owner.get() == p.write);
    owner.reset();
    CHECK_FALSE(is_open(p.write));
    CHECK_FALSE(owner);
}

TEST_CASE("release hands the descriptor back unclosed and leaves the owner empty") {
    pipe_ends p;
    int released = -1;
    {
        unique_fd owner(p.read);
        released = owner.release();
        CHECK_FALSE(owner);
        CHECK(owner.get() == -1);
    }
    CHECK(released == p.read);
    CHECK(is_open(p.read));  // the owner's end closed nothing
    ::close(p.read);
    ::close(p.write);
}

TEST_CASE("a move carries ownership: the source is empty and the descriptor is closed once") {
    pipe_ends p;
    unique_fd a(p.read);
    unique_fd b(std::move(a));
    CHECK_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from is specified as empty
    CHECK(b.get() == p.read);
    a.reset();  // the moved-from owner closes nothing
    CHECK(is_open(p.read));

    unique_fd c(p.write);
    c = std::move(b);  // the target's own descriptor is closed first
    CHECK_FALSE(is_open(p.write));
    CHECK(c.get() == p.read);
    CHECK_FALSE(b);  // NOLINT(bugprone-use-after-move)
    CHECK(is_open(p.read));
    c = unique_fd();
    CHECK_FALSE(is_open(p.read));
}

TEST_CASE("move-assigning an owner to itself keeps the descriptor open") {
    pipe_ends p;
    unique_fd a(p.read);
    unique_fd& same = a;
    a = std::move(same);
    CHECK(a.get() == p.read);
    CHECK(is_open(p.read));
    ::close(p.write);
}

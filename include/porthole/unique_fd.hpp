// porthole/unique_fd.hpp: the owner of an open file descriptor, closed when the owner goes.
// File bodies (response.hpp) and the engine's sockets (detail/sys.hpp) hold their descriptors in
// it; it knows nothing of HTTP.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <utility>

#if defined(_WIN32)
#include <io.h>  // files are C runtime descriptors there (detail/platform.hpp); sockets have their own owner
#else
#include <unistd.h>
#endif

namespace porthole {

// An open file descriptor, closed when the owner goes.
class unique_fd {
public:
    unique_fd() noexcept = default;
    explicit unique_fd(int fd) noexcept : fd_(fd) {}
    unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    unique_fd& operator=(unique_fd&& o) noexcept {
        if (this != &o) reset(std::exchange(o.fd_, -1));
        return *this;
    }
    ~unique_fd() { reset(); }
    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    void reset(int fd = -1) noexcept {
#if defined(_WIN32)
        if (fd_ >= 0) ::_close(fd_);
#else
        if (fd_ >= 0) ::close(fd_);
#endif
        fd_ = fd;
    }
    int release() noexcept { return std::exchange(fd_, -1); }

private:
    int fd_ = -1;
};

}  // namespace porthole

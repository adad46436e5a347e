// porthole/detail/confine.hpp: opening a file below a root directory and never outside it,
// for static_files. POSIX: openat2 with RESOLVE_BENEATH where Linux has it, else a walk one
// segment at a time with O_NOFOLLOW, symbolic links resolved by hand and kept below the root.
// Windows: confine_windows.hpp, with the same three functions.
#pragma once

#if defined(_WIN32)
#include <porthole/detail/confine_windows.hpp>
#else

#include <porthole/unique_fd.hpp>
#include <porthole/url.hpp>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__linux__) && __has_include(<linux/openat2.h>) && __has_include(<sys/syscall.h>)
#include <linux/openat2.h>
#include <sys/syscall.h>
#if defined(SYS_openat2)
#define PORTHOLE_HAVE_OPENAT2 1
#endif
#endif

namespace porthole::detail {

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
            if (is_last) last.reset(fd);
            else stack.emplace_back(fd);
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

// The names in a directory opened by open_beneath that could be served, with whether each is a
// directory (a link to one is not): regular files and directories, and symbolic links when
// `follow_symlinks` (a FIFO or a device is 404, as is a link without it). False when the
// directory cannot be read.
inline bool read_directory(int dir_fd, bool follow_symlinks, std::vector<std::pair<std::string, bool> >& entries) {
    int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return false;
    DIR* dir = ::fdopendir(fd);
    if (!dir) {
        ::close(fd);
        return false;
    }
    while (auto* e = ::readdir(dir)) {
        std::string_view name = e->d_name;
        if (url::is_dot_segment(name)) continue;
        struct stat st {};
        if (::fstatat(::dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        bool is_dir = S_ISDIR(st.st_mode);
        if (!is_dir && !S_ISREG(st.st_mode) && !(follow_symlinks && S_ISLNK(st.st_mode))) continue;
        entries.emplace_back(std::string(name), is_dir);
    }
    ::closedir(dir);
    return true;
}

}  // namespace porthole::detail

#endif  // !_WIN32

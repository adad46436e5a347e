// porthole/detail/platform.hpp: the operating system beneath the drivers, where POSIX and
// Windows differ in name but not in shape: files read by descriptor (open, size, positional
// read, close) and, on Windows, the Winsock headers with UTF-8 <-> UTF-16 conversion.
//
// On Windows, files are C runtime descriptors (_open_osfhandle) so that file bodies keep one
// `int` shape everywhere; paths are UTF-8 at porthole's interface and UTF-16 at every call.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#if defined(_WIN32)
// Include porthole before <windows.h>, or define NOMINMAX: its min/max macros break std::min.
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <fcntl.h>
#include <io.h>
#if defined(_MSC_VER)
#pragma comment(lib, "ws2_32.lib")
#endif
#undef DELETE  // winnt.h's access right would rename porthole::DELETE (see http.hpp)
#else
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#endif

#if defined(__MINGW32__) && defined(__GNUC__) && !defined(__clang__)
#include <cxxabi.h>
#endif

namespace porthole::detail {

#if defined(__MINGW32__) && defined(__GNUC__) && !defined(__clang__)
// MinGW-w64's GCC keeps thread_local variables in emulated TLS and runs their destructors from
// a thread-exit key made when the first such destructor is registered; keys run in the order
// they were made, and emulated TLS frees the variables from its own key, made at the first
// thread_local access. Registering once at start-up, before any thread_local is touched, makes
// the destructors' key first, so they run before their variables' memory is freed.
inline void no_thread_exit_work(void*) noexcept {}
inline int const thread_exit_order_fixed = __cxxabiv1::__cxa_thread_atexit(no_thread_exit_work, nullptr, nullptr);
#endif

#if defined(_WIN32)

// UTF-8 to UTF-16; false for input that is not valid UTF-8 (never a lossy replacement, which
// could turn two different request paths into one file name).
inline bool to_utf16(std::string_view utf8, std::wstring& out) {
    out.clear();
    if (utf8.empty()) return true;
    if (utf8.size() > 0x7fffffff) return false;
    int n =
        ::MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8.data(), static_cast<int>(utf8.size()), nullptr, 0);
    if (n <= 0) return false;
    out.resize(static_cast<std::size_t>(n));
    return ::MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8.data(), static_cast<int>(utf8.size()), out.data(),
                                 n) == n;
}

// UTF-16 to UTF-8; false for unpaired surrogates.
inline bool to_utf8(std::wstring_view utf16, std::string& out) {
    out.clear();
    if (utf16.empty()) return true;
    if (utf16.size() > 0x7fffffff) return false;
    int n = ::WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, utf16.data(), static_cast<int>(utf16.size()), nullptr,
                                  0, nullptr, nullptr);
    if (n <= 0) return false;
    out.resize(static_cast<std::size_t>(n));
    return ::WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, utf16.data(), static_cast<int>(utf16.size()),
                                 out.data(), n, nullptr, nullptr) == n;
}

inline HANDLE file_handle(int fd) noexcept { return reinterpret_cast<HANDLE>(::_get_osfhandle(fd)); }

// A Windows error as the errno value the callers test for.
inline int errno_from_windows(DWORD e) noexcept {
    switch (e) {
        case ERROR_FILE_NOT_FOUND:
        case ERROR_PATH_NOT_FOUND:
        case ERROR_INVALID_NAME:
        case ERROR_BAD_PATHNAME:
        case ERROR_DIRECTORY: return ENOENT;
        case ERROR_ACCESS_DENIED:
        case ERROR_SHARING_VIOLATION:
        case ERROR_LOCK_VIOLATION: return EACCES;
        case ERROR_TOO_MANY_OPEN_FILES: return EMFILE;
        case ERROR_NOT_ENOUGH_MEMORY:
        case ERROR_OUTOFMEMORY: return ENOMEM;
        case ERROR_CANT_ACCESS_FILE:
        case ERROR_CANT_RESOLVE_FILENAME: return ELOOP;
        default: return EIO;
    }
}

// An open handle as a C runtime descriptor that owns it; -1 (handle closed) on failure.
inline int descriptor_for(HANDLE h) noexcept {
    int fd = ::_open_osfhandle(reinterpret_cast<std::intptr_t>(h), _O_RDONLY | _O_BINARY);
    if (fd < 0) {
        ::CloseHandle(h);
        errno = EMFILE;
    }
    return fd;
}

inline int close_file(int fd) noexcept { return ::_close(fd); }

// Opens a file for reading, shared with writers and deleters as POSIX files are; -1 with errno.
inline int open_file_for_reading(std::string const& utf8_path) {
    std::wstring path;
    if (!to_utf16(utf8_path, path)) {
        errno = ENOENT;
        return -1;
    }
    HANDLE h = ::CreateFileW(path.c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                             nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
    if (h == INVALID_HANDLE_VALUE) {
        errno = errno_from_windows(::GetLastError());
        return -1;
    }
    return descriptor_for(h);
}

// What static_files and file responses need to know of an open file.
struct file_status {
    bool directory = false;
    bool regular = false;
    std::uint64_t size = 0;
    std::uint64_t id = 0;            // the file's number on its volume (an inode number)
    std::int64_t mtime_seconds = 0;  // since 1970, UTC
    std::uint32_t mtime_nanoseconds = 0;
};

inline bool status_of(int fd, file_status& st) noexcept {
    BY_HANDLE_FILE_INFORMATION info{};
    if (!::GetFileInformationByHandle(file_handle(fd), &info)) return false;
    st.directory = (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
    st.regular = !st.directory && (info.dwFileAttributes & FILE_ATTRIBUTE_DEVICE) == 0;
    st.size = (std::uint64_t{info.nFileSizeHigh} << 32) | info.nFileSizeLow;
    st.id = (std::uint64_t{info.nFileIndexHigh} << 32) | info.nFileIndexLow;
    // FILETIME: 100 ns units since 1601-01-01.
    std::uint64_t t = (std::uint64_t{info.ftLastWriteTime.dwHighDateTime} << 32) | info.ftLastWriteTime.dwLowDateTime;
    constexpr std::uint64_t epoch_1970 = 116444736000000000ull;
    std::int64_t since_1970 = static_cast<std::int64_t>(t) - static_cast<std::int64_t>(epoch_1970);
    st.mtime_seconds = since_1970 / 10000000;
    st.mtime_nanoseconds = static_cast<std::uint32_t>((since_1970 % 10000000 + 10000000) % 10000000 * 100);
    if (since_1970 < 0 && st.mtime_nanoseconds != 0) --st.mtime_seconds;
    return true;
}

// pread(): up to n bytes at offset; bytes read, 0 at the end, -1 with errno.
inline long read_file_at(int fd, char* buf, std::size_t n, std::uint64_t offset) noexcept {
    OVERLAPPED at{};
    at.Offset = static_cast<DWORD>(offset);
    at.OffsetHigh = static_cast<DWORD>(offset >> 32);
    DWORD got = 0;
    DWORD want = n > 0x40000000 ? 0x40000000 : static_cast<DWORD>(n);
    if (!::ReadFile(file_handle(fd), buf, want, &got, &at)) {
        DWORD e = ::GetLastError();
        if (e == ERROR_HANDLE_EOF) return 0;
        errno = errno_from_windows(e);
        return -1;
    }
    return static_cast<long>(got);
}

#else

inline int close_file(int fd) noexcept { return ::close(fd); }

inline int open_file_for_reading(std::string const& path) noexcept {
    return ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
}

struct file_status {
    bool directory = false;
    bool regular = false;
    std::uint64_t size = 0;
    std::uint64_t id = 0;  // the inode number
    std::int64_t mtime_seconds = 0;
    std::uint32_t mtime_nanoseconds = 0;
};

inline bool status_of(int fd, file_status& out) noexcept {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return false;
    out.directory = S_ISDIR(st.st_mode);
    out.regular = S_ISREG(st.st_mode);
    out.size = static_cast<std::uint64_t>(st.st_size);
    out.id = static_cast<std::uint64_t>(st.st_ino);
#if defined(__APPLE__)
    out.mtime_seconds = st.st_mtimespec.tv_sec;
    out.mtime_nanoseconds = static_cast<std::uint32_t>(st.st_mtimespec.tv_nsec);
#else
    out.mtime_seconds = st.st_mtim.tv_sec;
    out.mtime_nanoseconds = static_cast<std::uint32_t>(st.st_mtim.tv_nsec);
#endif
    return true;
}

inline long read_file_at(int fd, char* buf, std::size_t n, std::uint64_t offset) noexcept {
    return static_cast<long>(::pread(fd, buf, n, static_cast<off_t>(offset)));
}

#endif

// n bytes at offset through as many reads as it takes (one stops short of 2 GiB with pread, of
// 1 GiB here on Windows): the bytes read, fewer only where the file ends first or a read fails.
inline std::size_t read_file_fully_at(int fd, char* buf, std::size_t n, std::uint64_t offset) noexcept {
    std::size_t done = 0;
    while (done < n) {
        long got = read_file_at(fd, buf + done, n - done, offset + done);
        if (got <= 0) break;
        done += static_cast<std::size_t>(got);
    }
    return done;
}

// A file chunk of a response, read in whole and handed to pass(std::string_view): false where
// the file ended before its length (truncated since the response was made), after handing on
// what was there; the length promised cannot be kept, so the driver closes the connection.
template <class Pass>
bool pass_file_chunk(int fd, std::uint64_t offset, std::uint64_t length, Pass&& pass) {
    std::string bytes(static_cast<std::size_t>(length), '\0');
    std::size_t got = read_file_fully_at(fd, bytes.data(), bytes.size(), offset);
    pass(std::string_view(bytes.data(), got));
    return got == bytes.size();
}

}  // namespace porthole::detail

// porthole/detail/sys_windows.hpp: the pieces of sys.hpp through Winsock 2: WSAStartup once,
// owned sockets, non-blocking mode, Winsock errors as errno values, WSAPoll, a loopback socket
// pair as the loops' wake-up, and console control events for serve()'s SIGINT/SIGTERM.
//
// A SOCKET is kept in an `int`, as OpenSSL's SSL_set_fd does: Windows handle values fit in 32
// bits (kernel handles are shared with 32-bit processes), and INVALID_SOCKET becomes -1.
#pragma once

#include <porthole/detail/platform.hpp>
#include <porthole/unique_fd.hpp>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <initializer_list>
#include <string>
#include <system_error>
#include <utility>

namespace porthole::detail {

inline SOCKET native_socket(int fd) noexcept { return static_cast<SOCKET>(static_cast<std::intptr_t>(fd)); }
inline int from_native_socket(SOCKET s) noexcept { return s == INVALID_SOCKET ? -1 : static_cast<int>(s); }

// The errno value for a Winsock error, so the loop tests one convention on both platforms.
inline int errno_from_winsock(int e) noexcept {
    switch (e) {
        case WSAEWOULDBLOCK:
        case WSAEINPROGRESS: return EAGAIN;
        case WSAEINTR: return EINTR;
        case WSAECONNABORTED: return ECONNABORTED;
        case WSAECONNRESET: return ECONNRESET;
        case WSAEMFILE: return EMFILE;
        case WSAENOBUFS: return ENOBUFS;
        case WSAEADDRINUSE: return EADDRINUSE;
        case WSAEADDRNOTAVAIL: return EADDRNOTAVAIL;
        case WSAEACCES: return EACCES;
        case WSAEAFNOSUPPORT: return EAFNOSUPPORT;
        case WSAEINVAL: return EINVAL;
        case WSAENOTCONN: return ENOTCONN;
        case WSAESHUTDOWN: return EPIPE;
        default: return EIO;
    }
}

// The category of the errno values above. MinGW's C runtime has no text for the POSIX socket
// errors Winsock's map to: generic_category() would say "Unknown error" for a port in use.
// The same values, conditions of generic_category(), so they compare equal to std::errc.
class errno_category_type final : public std::error_category {
public:
    char const* name() const noexcept override { return "porthole.errno"; }
    std::error_condition default_error_condition(int e) const noexcept override { return {e, std::generic_category()}; }
    std::string message(int e) const override {
        switch (e) {  // the texts glibc gives
            case EADDRINUSE: return "Address already in use";
            case EADDRNOTAVAIL: return "Cannot assign requested address";
            case ECONNRESET: return "Connection reset by peer";
            case ECONNABORTED: return "Software caused connection abort";
            case ENOBUFS: return "No buffer space available";
            case EAFNOSUPPORT: return "Address family not supported by protocol";
            case ENOTCONN: return "Transport endpoint is not connected";
            default: return std::generic_category().message(e);
        }
    }
};
inline std::error_category const& errno_category() noexcept {
    static auto const* category = new errno_category_type;  // never destroyed, as the standard's own
    return *category;
}

// The last Winsock error as an errno value, which is also left in errno.
inline int socket_errno() noexcept {
    int e = errno_from_winsock(::WSAGetLastError());
    errno = e;
    return e;
}

// Winsock is started once per process, by the first socket porthole makes, and left running.
inline void winsock_start() {
    struct started {
        int error;
        started() noexcept {
            WSADATA data;
            error = ::WSAStartup(MAKEWORD(2, 2), &data);
        }
    };
    static started const once;
    if (once.error != 0) throw std::system_error(errno_from_winsock(once.error), errno_category(), "WSAStartup");
}

inline void close_socket(int fd) noexcept { ::closesocket(native_socket(fd)); }

// An open socket, closed when the owner goes.
class unique_socket {
public:
    unique_socket() noexcept = default;
    explicit unique_socket(int fd) noexcept : fd_(fd) {}
    unique_socket(unique_socket&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    unique_socket& operator=(unique_socket&& o) noexcept {
        if (this != &o) reset(std::exchange(o.fd_, -1));
        return *this;
    }
    ~unique_socket() { reset(); }
    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0) close_socket(fd_);
        fd_ = fd;
    }
    int release() noexcept { return std::exchange(fd_, -1); }

private:
    int fd_ = -1;
};

inline int open_socket(int family, int type, int protocol) {
    winsock_start();
    SOCKET s = ::socket(family, type, protocol);
    if (s == INVALID_SOCKET) socket_errno();
    return from_native_socket(s);
}

inline void shutdown_output(int fd) noexcept { ::shutdown(native_socket(fd), SD_SEND); }

// Sockets are non-blocking already; there is no per-call flag.
inline constexpr int dont_wait = 0;
// SO_REUSEADDR on Windows lets another socket take a port in use; exclusive use is what
// SO_REUSEADDR means on POSIX for a listener.
inline constexpr int listener_address_option = SO_EXCLUSIVEADDRUSE;

inline long socket_receive(int fd, char* buf, std::size_t n, int flags = 0) noexcept {
    int got = ::recv(native_socket(fd), buf, n > 0x7fffffff ? 0x7fffffff : static_cast<int>(n), flags);
    if (got == SOCKET_ERROR) socket_errno();
    return got;
}

// Whether the socket has failed (the peer reset it, say): its pending error, which this clears.
inline bool socket_failed(int fd) noexcept {
    int error = 0;
    int length = sizeof error;
    return ::getsockopt(native_socket(fd), SOL_SOCKET, SO_ERROR, reinterpret_cast<char*>(&error), &length) == 0 &&
           error != 0;
}

inline long socket_send(int fd, char const* buf, std::size_t n, int flags = 0) noexcept {
    int sent = ::send(native_socket(fd), buf, n > 0x7fffffff ? 0x7fffffff : static_cast<int>(n), flags);
    if (sent == SOCKET_ERROR) socket_errno();
    return sent;
}

// The gather list the loop fills, in POSIX's shape; send_vectored hands it to WSASend.
struct iovec {
    void* iov_base;
    std::size_t iov_len;
};

inline long send_vectored(int fd, iovec* iov, int count) noexcept {
    constexpr int max_buffers = 64;
    WSABUF buffers[max_buffers];
    if (count > max_buffers) count = max_buffers;
    for (int i = 0; i < count; ++i) {
        buffers[i].buf = static_cast<char*>(iov[i].iov_base);
        buffers[i].len = iov[i].iov_len > 0x7fffffff ? 0x7fffffff : static_cast<ULONG>(iov[i].iov_len);
    }
    DWORD sent = 0;
    if (::WSASend(native_socket(fd), buffers, static_cast<DWORD>(count), &sent, 0, nullptr, nullptr) != 0) {
        socket_errno();
        return -1;
    }
    return static_cast<long>(sent);
}

inline int poll_sockets(pollfd* fds, std::size_t count, int timeout_ms) noexcept {
    int n = ::WSAPoll(fds, static_cast<ULONG>(count), timeout_ms);
    if (n == SOCKET_ERROR) socket_errno();
    return n;
}

// Windows has no descriptor table to run out of in the POSIX sense: nothing is held in reserve.
inline int reserve_descriptor() noexcept { return -1; }

// ---------------------------------------------------------------- clocks

inline std::int64_t monotonic_ms() noexcept { return static_cast<std::int64_t>(::GetTickCount64()); }
inline std::time_t wall_seconds() noexcept { return std::time(nullptr); }

// ---------------------------------------------------------------- sockets

// Non-blocking, and not inherited by child processes (close-on-exec).
inline void set_nonblocking_cloexec(int fd) noexcept {
    u_long on = 1;
    ::ioctlsocket(native_socket(fd), FIONBIO, &on);
    ::SetHandleInformation(reinterpret_cast<HANDLE>(native_socket(fd)), HANDLE_FLAG_INHERIT, 0);
}

inline void set_socket_flag(int fd, int level, int name) noexcept {
    int one = 1;
    ::setsockopt(native_socket(fd), level, name, reinterpret_cast<char const*>(&one), sizeof one);
}

// Windows does not tell how much of a socket's output its peer has yet to take.
inline bool send_queue_bytes(int, std::size_t&) noexcept { return false; }

// Accepts one connection as a non-blocking socket; -1 with errno set when there is none.
inline int accept_connection(int listen_fd, sockaddr_storage& peer, socklen_t& len) noexcept {
    len = sizeof peer;
    SOCKET s = ::accept(native_socket(listen_fd), reinterpret_cast<sockaddr*>(&peer), &len);
    if (s == INVALID_SOCKET) {
        socket_errno();
        return -1;
    }
    int fd = from_native_socket(s);
    set_nonblocking_cloexec(fd);
    return fd;
}

// ---------------------------------------------------------------- wake-ups

// A connected pair of loopback TCP sockets: WSAPoll waits on sockets only. Another thread
// sends a byte on one end; the loop watches the other.
class wake_channel {
public:
    wake_channel() {
        unique_socket listener(open_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP));
        if (!listener) throw std::system_error(errno, errno_category(), "socket");
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int len = sizeof address;
        auto* sa = reinterpret_cast<sockaddr*>(&address);
        set_socket_flag(listener.get(), SOL_SOCKET, SO_EXCLUSIVEADDRUSE);
        if (::bind(native_socket(listener.get()), sa, len) != 0 || ::listen(native_socket(listener.get()), 1) != 0 ||
            ::getsockname(native_socket(listener.get()), sa, &len) != 0)
            fail("wake-up listener");
        write_.reset(open_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP));
        if (!write_ || ::connect(native_socket(write_.get()), sa, len) != 0) fail("wake-up connect");
        sockaddr_in mine{};
        int mine_len = sizeof mine;
        ::getsockname(native_socket(write_.get()), reinterpret_cast<sockaddr*>(&mine), &mine_len);
        // Another local process could connect to the listener first: take only our own end.
        for (int tries = 0; tries < 8 && !read_; ++tries) {
            sockaddr_in peer{};
            int peer_len = sizeof peer;
            unique_socket got(from_native_socket(
                ::accept(native_socket(listener.get()), reinterpret_cast<sockaddr*>(&peer), &peer_len)));
            if (!got) fail("wake-up accept");
            if (peer.sin_port == mine.sin_port && peer.sin_addr.s_addr == mine.sin_addr.s_addr) read_ = std::move(got);
        }
        if (!read_) fail("wake-up accept");
        set_nonblocking_cloexec(read_.get());
        set_nonblocking_cloexec(write_.get());
        set_socket_flag(write_.get(), IPPROTO_TCP, TCP_NODELAY);
    }
    int fd() const noexcept { return read_.get(); }
    // A full socket buffer already holds a wake-up: a failed send loses nothing.
    void notify() const noexcept {
        char c = 1;
        (void)::send(native_socket(write_.get()), &c, 1, 0);
    }
    void clear() const noexcept {
        char buf[64];
        while (::recv(native_socket(read_.get()), buf, sizeof buf, 0) > 0) {}
    }

private:
    [[noreturn]] static void fail(char const* what) { throw std::system_error(socket_errno(), errno_category(), what); }
    unique_socket read_;
    unique_socket write_;
};

// ---------------------------------------------------------------- descriptors and signals

// Nothing to raise, no SIGPIPE (a send to a closed peer fails with WSAECONNRESET), and no
// asynchronous signals to keep off the loop threads.
inline std::size_t raise_descriptor_limit() noexcept { return SIZE_MAX; }
inline void ignore_sigpipe_if_default() noexcept {}
struct async_signals_blocked {
    async_signals_blocked() noexcept {}  // user-provided: an object that is only held is no warning
    ~async_signals_blocked() {}
};

// serve()'s stop signals on Windows: console control events. Ctrl+C and Ctrl+Break stand for
// SIGINT; closing the console, logging off and shutting down stand for SIGTERM. For those three
// the system ends the process when the handler returns, so the handler waits (up to the five
// seconds the system grants) for the signal_pipe to go, that is, for serve() to have stopped.
struct console_events {
    HANDLE stop = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);  // set: a stop was asked for
    HANDLE done = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);  // set: nobody waits any more
    std::atomic<unsigned> wanted{0};                              // 1: SIGINT's, 2: SIGTERM's
};
inline console_events& console_control() noexcept {
    static console_events events;  // never closed: a handler thread may still be using them
    return events;
}

inline BOOL WINAPI porthole_on_console_event(DWORD type) noexcept {
    console_events& e = console_control();
    bool interrupt = type == CTRL_C_EVENT || type == CTRL_BREAK_EVENT;
    unsigned wanted = e.wanted.load();
    if (!(wanted & (interrupt ? 1u : 2u))) return FALSE;  // the next handler (the default: exit)
    ::SetEvent(e.stop);
    if (!interrupt) ::WaitForSingleObject(e.done, 4500);
    return TRUE;
}

// The shape of the POSIX signal_pipe (detail/signal_pipe.hpp) that serve() uses: made before the server
// starts, so an early event is not lost; wait() returns once one came.
class signal_pipe {
public:
    explicit signal_pipe(std::initializer_list<int> signals) {
        unsigned wanted = 0;
        for (int sig : signals) wanted |= sig == SIGINT ? 1u : sig == SIGTERM ? 2u : 0u;
        console_events& e = console_control();
        if (!e.stop || !e.done) throw std::system_error(EIO, errno_category(), "CreateEvent");
        ::ResetEvent(e.stop);
        ::ResetEvent(e.done);
        e.wanted.store(wanted);
        if (!::SetConsoleCtrlHandler(porthole_on_console_event, TRUE))
            throw std::system_error(EIO, errno_category(), "SetConsoleCtrlHandler");
    }
    signal_pipe(signal_pipe const&) = delete;
    signal_pipe& operator=(signal_pipe const&) = delete;
    ~signal_pipe() {
        console_events& e = console_control();
        e.wanted.store(0);
        ::SetConsoleCtrlHandler(porthole_on_console_event, FALSE);
        ::SetEvent(e.done);
    }
    int fd() const noexcept { return -1; }  // an event, not a descriptor
    void wait() const { ::WaitForSingleObject(console_control().stop, INFINITE); }
    void clear() const noexcept { ::ResetEvent(console_control().stop); }
    // From now on the next event is the system's: its default handler ends the process.
    void next_ends_process() const noexcept { console_control().wanted.store(0); }
};

}  // namespace porthole::detail

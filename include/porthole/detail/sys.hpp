// porthole/detail/sys.hpp: the POSIX pieces the server engine is built from: owned
// descriptors, clocks, listening sockets, accept, vectored and file output, wake-ups, signals.
// On Windows, sys_windows.hpp gives the same pieces through Winsock.
#pragma once

#include <porthole/detail/decimal.hpp>
#include <porthole/detail/platform.hpp>
#include <porthole/unique_fd.hpp>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <stdexcept>
#include <system_error>
#include <utility>

#if defined(_WIN32)
#include <porthole/detail/sys_windows.hpp>
#else
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#if defined(__linux__)
#include <linux/sockios.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#endif
#endif

namespace porthole::detail {

#if !defined(_WIN32)
// The category of porthole's errno values (sys_windows.hpp has its own for Winsock's).
inline std::error_category const& errno_category() noexcept { return std::generic_category(); }
#endif

[[noreturn]] inline void throw_errno(char const* what) { throw std::system_error(errno, errno_category(), what); }

// "WHAT WHERE" as a std::system_error with error `e`: one cold copy for every listening error.
[[noreturn, gnu::cold, gnu::noinline]] inline void throw_listen_error(int e, std::string_view what,
                                                                      std::string_view where) {
    std::string message(what);
    message += ' ';
    message += where;
    throw std::system_error(e, errno_category(), message);
}

using porthole::unique_fd;

#if defined(MSG_NOSIGNAL)
inline constexpr int send_flags = MSG_NOSIGNAL;
#else
inline constexpr int send_flags = 0;
#endif

#if !defined(_WIN32)
using unique_socket = unique_fd;  // a socket is a descriptor

// The socket calls the engine makes, named once for both platforms (sys_windows.hpp has the
// others): here they are the system calls themselves, and failures leave errno set.
inline int native_socket(int fd) noexcept { return fd; }
inline int socket_errno() noexcept { return errno; }
inline int open_socket(int family, int type, int protocol) noexcept { return ::socket(family, type, protocol); }
inline void close_socket(int fd) noexcept { ::close(fd); }
inline void shutdown_output(int fd) noexcept { ::shutdown(fd, SHUT_WR); }
inline constexpr int dont_wait = MSG_DONTWAIT;
inline long socket_receive(int fd, char* buf, std::size_t n, int flags = 0) noexcept {
    return static_cast<long>(::recv(fd, buf, n, flags));
}
// Whether the socket has failed (the peer reset it, say): its pending error, which this clears.
inline bool socket_failed(int fd) noexcept {
    int error = 0;
    socklen_t length = sizeof error;
    return ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error != 0;
}
inline long socket_send(int fd, char const* buf, std::size_t n, int flags = send_flags) noexcept {
    return static_cast<long>(::send(fd, buf, n, flags));
}
inline int poll_sockets(pollfd* fds, std::size_t count, int timeout_ms) noexcept {
    return ::poll(fds, static_cast<nfds_t>(count), timeout_ms);
}
inline long send_vectored(int fd, iovec* iov, int count) noexcept {
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<decltype(msg.msg_iovlen)>(count);
    return static_cast<long>(::sendmsg(fd, &msg, send_flags));
}
// A descriptor held in reserve, given up to accept one connection when the process has no
// other left (event_loop: shed_one).
inline int reserve_descriptor() noexcept { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }
inline constexpr int listener_address_option = SO_REUSEADDR;

// ---------------------------------------------------------------- clocks

// Milliseconds on a monotonic clock; the coarse clock on Linux costs a few nanoseconds and its
// few-millisecond resolution is plenty for timeouts measured in seconds.
inline std::int64_t monotonic_ms() noexcept {
    timespec ts{};
#if defined(CLOCK_MONOTONIC_COARSE)
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
#else
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
    return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

inline std::time_t wall_seconds() noexcept {
    timespec ts{};
#if defined(CLOCK_REALTIME_COARSE)
    ::clock_gettime(CLOCK_REALTIME_COARSE, &ts);
#else
    ::clock_gettime(CLOCK_REALTIME, &ts);
#endif
    return ts.tv_sec;
}

// ---------------------------------------------------------------- sockets

inline void set_nonblocking_cloexec(int fd) noexcept {
    int fl = ::fcntl(fd, F_GETFL);
    if (fl >= 0) ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    int fdfl = ::fcntl(fd, F_GETFD);
    if (fdfl >= 0) ::fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC);
}

// A non-blocking, close-on-exec pipe: wake-ups where there is no eventfd, and signals.
inline void open_pipe(unique_fd& read_end, unique_fd& write_end) {
    int p[2];
    if (::pipe(p) != 0) throw_errno("pipe");
    read_end.reset(p[0]);
    write_end.reset(p[1]);
    set_nonblocking_cloexec(p[0]);
    set_nonblocking_cloexec(p[1]);
}

inline void set_socket_flag(int fd, int level, int name) noexcept {
    int one = 1;
    ::setsockopt(fd, level, name, &one, sizeof one);
}

// Bytes written to a socket that its peer has not taken yet (its send queue: unsent and
// unacknowledged), where the system tells (Linux: SIOCOUTQ); false where it does not.
inline bool send_queue_bytes(int fd, std::size_t& bytes) noexcept {
#if defined(__linux__)
    int n = 0;
    if (::ioctl(fd, SIOCOUTQ, &n) != 0 || n < 0) return false;
    bytes = static_cast<std::size_t>(n);
    return true;
#else
    (void)fd;
    (void)bytes;
    return false;
#endif
}
#endif  // !_WIN32

// A socket must never raise SIGPIPE: output goes through send(MSG_NOSIGNAL) where it exists and
// the socket is marked SO_NOSIGPIPE where that exists instead.
inline void prepare_connection_socket(int fd) noexcept {
    set_socket_flag(fd, IPPROTO_TCP, TCP_NODELAY);
#if defined(SO_NOSIGPIPE)
    set_socket_flag(fd, SOL_SOCKET, SO_NOSIGPIPE);
#endif
}

// True when accepted sockets inherit TCP_NODELAY from the listener, sparing a system call
// per connection (Linux copies the option into the accepted socket).
#if defined(__linux__)
inline constexpr bool accepted_sockets_inherit_nodelay = true;
#else
inline constexpr bool accepted_sockets_inherit_nodelay = false;
#endif

// How an IPv6 wildcard listener treats IPv4: both (dual stack, "::" alone takes every
// address), IPv6 only (beside an IPv4 listener on the same port), or as the system says.
enum class ipv6_only : std::uint8_t { system_default, off, on };

// Opens a non-blocking listening socket on address:port (port 0 picks a free one). With
// reuse_port, several such sockets can share one port and the kernel spreads connections
// over them. A negative backlog only binds (see claim_port). Throws std::system_error.
inline unique_socket open_listener(std::string const& address, std::uint16_t port, bool reuse_port, int backlog,
                                   ipv6_only v6only = ipv6_only::system_default) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    char service[8];
    std::snprintf(service, sizeof service, "%u", static_cast<unsigned>(port));
    int rc = ::getaddrinfo(address.empty() ? nullptr : address.c_str(), service, &hints, &found);
    if (rc != 0) {
        throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                "cannot resolve listening address '" + address + "': " + ::gai_strerror(rc));
    }
    int last_errno = EADDRNOTAVAIL;
    char const* failed = "bind";
    for (addrinfo* ai = found; ai; ai = ai->ai_next) {
        unique_socket fd(open_socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol));
        if (!fd) {
            last_errno = socket_errno();
            failed = "socket";
            continue;
        }
        set_nonblocking_cloexec(fd.get());
        set_socket_flag(fd.get(), SOL_SOCKET, listener_address_option);
#if defined(SO_REUSEPORT)
        if (reuse_port) set_socket_flag(fd.get(), SOL_SOCKET, SO_REUSEPORT);
#else
        (void)reuse_port;
#endif
        set_socket_flag(fd.get(), IPPROTO_TCP, TCP_NODELAY);
        if (ai->ai_family == AF_INET6 && v6only != ipv6_only::system_default) {
            int on = v6only == ipv6_only::on;
            ::setsockopt(native_socket(fd.get()), IPPROTO_IPV6, IPV6_V6ONLY, reinterpret_cast<char const*>(&on),
                         sizeof on);
        }
        if (::bind(native_socket(fd.get()), ai->ai_addr, static_cast<socklen_t>(ai->ai_addrlen)) != 0) {
            last_errno = socket_errno();
            failed = "bind";
            continue;
        }
        if (backlog >= 0 && ::listen(native_socket(fd.get()), backlog) != 0) {
            last_errno = socket_errno();
            failed = "listen";
            continue;
        }
        ::freeaddrinfo(found);
        return fd;
    }
    ::freeaddrinfo(found);
    errno = last_errno;
    throw_listen_error(last_errno, failed, address + ":" + service);
}

// SO_REUSEPORT lets any socket of the same user join a port, so a second server started on a
// port already in use would silently share it. Binding once without it first fails as it
// should, and picks the port when asked for port 0.
inline std::uint16_t local_port(int fd) noexcept;
inline std::uint16_t claim_port(std::string const& address, std::uint16_t port, ipv6_only v6only) {
    unique_socket probe = open_listener(address, port, false, -1, v6only);
    return local_port(probe.get());
}

inline std::uint16_t local_port(int fd) noexcept {
    sockaddr_storage sa{};
    socklen_t len = sizeof sa;
    if (::getsockname(native_socket(fd), reinterpret_cast<sockaddr*>(&sa), &len) != 0) return 0;
    if (sa.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in const&>(sa).sin_port);
    if (sa.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6 const&>(sa).sin6_port);
    return 0;
}

// ---------------------------------------------------------------- listening addresses

#if defined(_WIN32)
inline constexpr std::size_t unix_socket_path_capacity = 108;  // afunix.h's UNIX_PATH_MAX
using socket_file_mode = unsigned;
#else
inline constexpr std::size_t unix_socket_path_capacity = sizeof(sockaddr_un::sun_path);
using socket_file_mode = ::mode_t;
#endif

// One place to listen, as server_options give it:
//   "127.0.0.1", "::1", "::", "0.0.0.0", "localhost"   TCP on server_options::port
//   "127.0.0.1:8081", "[::1]:8081"                     TCP on a port of its own
//   "unix:/run/tool.sock"                              a Unix domain socket file
//   "unix:@tool"                                       a Linux abstract socket (no file)
struct listen_address {
    enum kind_t : std::uint8_t { tcp, unix_file, unix_abstract } kind = tcp;
    std::string host;                   // tcp: without brackets
    std::optional<std::uint16_t> port;  // tcp: given with the address
    std::string path;                   // unix: the file, or the abstract name without '@'

    bool is_unix() const noexcept { return kind != tcp; }
};

// Parses a listening address; throws std::invalid_argument with a readable message.
inline listen_address parse_listen_address(std::string_view text) {
    listen_address a;
    auto fail = [&](char const* why) {
        throw std::invalid_argument("listening address '" + std::string(text) + "': " + why);
    };
    if (text.substr(0, 5) == "unix:") {
        auto path = text.substr(5);
        if (path.empty() || path == "@") fail("a Unix socket needs a path");
        if (path.find('\0') != std::string_view::npos) fail("a NUL in the path");
        a.kind = path[0] == '@' ? listen_address::unix_abstract : listen_address::unix_file;
        a.path = std::string(a.kind == listen_address::unix_abstract ? path.substr(1) : path);
        if (a.path.size() + 1 > unix_socket_path_capacity) fail("the path is too long for a Unix socket");
        return a;
    }
    auto parse_port = [&](std::string_view p) {
        std::uint64_t v = 0;
        if (!parse_decimal(p, v) || v > 65535) fail("a bad port");
        a.port = static_cast<std::uint16_t>(v);
    };
    if (!text.empty() && text[0] == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos) fail("'[' without ']'");
        a.host = std::string(text.substr(1, close - 1));
        auto rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest[0] != ':') fail("text after ']'");
            parse_port(rest.substr(1));
        }
    } else if (auto colon = text.find(':');
               colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
        a.host = std::string(text.substr(0, colon));  // one colon: host:port
        parse_port(text.substr(colon + 1));
    } else {
        a.host = std::string(text);  // none, or an IPv6 address without brackets
    }
    if (a.host.empty()) fail("no host");
    return a;
}

// Whether a TCP host is a loopback address, where only this machine can connect.
inline bool is_loopback_host(std::string const& host) noexcept {
    if (host == "localhost") return true;
    in_addr v4{};
    if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
    in6_addr v6{};
    if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
    return false;
}

// What a Unix socket file is made with: its mode, and optionally its owner and group (a user or
// group name, or a number; changing the owner needs privileges, the group one of the caller's).
struct unix_socket_settings {
    socket_file_mode mode = 0660;
    std::string owner;
    std::string group;
};

#if defined(_WIN32)
// Unix sockets are POSIX's here: a unix: address is refused when the server starts.
struct unix_socket_file {
    std::string path;
    void remove() const noexcept {}
};

inline unique_socket open_unix_listener(listen_address const& a, unix_socket_settings const&, int, unix_socket_file&) {
    throw_listen_error(EAFNOSUPPORT, "Unix sockets are not supported on Windows:", "unix:" + a.path);
}
#else
// The file a Unix listener made, to remove when it closes: only while it is still ours.
struct unix_socket_file {
    std::string path;
    ::dev_t device = 0;
    ::ino_t inode = 0;

    void remove() const noexcept {
        struct stat st {};
        if (!path.empty() && ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == device &&
            st.st_ino == inode)
            ::unlink(path.c_str());
    }
};

namespace unix_socket_detail {
inline sockaddr_un address_of(listen_address const& a, socklen_t& len) noexcept {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::size_t offset = a.kind == listen_address::unix_abstract ? 1 : 0;  // abstract: a leading NUL
    std::memcpy(sa.sun_path + offset, a.path.data(), a.path.size());
    len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + offset + a.path.size() +
                                 (a.kind == listen_address::unix_file ? 1 : 0));
    return sa;
}

inline bool lookup_id(std::string const& name, bool user, std::uint32_t& id) {
    if (std::uint64_t number = 0; name.size() <= 9 && parse_decimal(name, number)) {  // below 2^32
        id = static_cast<std::uint32_t>(number);
        return true;
    }
    char buf[4096];
    if (user) {
        passwd pw{}, *found = nullptr;
        if (::getpwnam_r(name.c_str(), &pw, buf, sizeof buf, &found) != 0 || !found) return false;
        id = found->pw_uid;
    } else {
        group gr{}, *found = nullptr;
        if (::getgrnam_r(name.c_str(), &gr, buf, sizeof buf, &found) != 0 || !found) return false;
        id = found->gr_gid;
    }
    return true;
}
}  // namespace unix_socket_detail

// Opens a non-blocking Unix domain listener. A file left by a server that is gone (a socket
// nobody accepts on) is replaced; a live one, or a file that is not a socket, is an error.
// The mode and owner are set before listen(), so no client connects before they hold.
// Throws std::system_error; `made` is the file to remove on close (empty when abstract).
inline unique_socket open_unix_listener(listen_address const& a, unix_socket_settings const& settings, int backlog,
                                        unix_socket_file& made) {
    socklen_t len = 0;
    sockaddr_un sa = unix_socket_detail::address_of(a, len);
    auto fail = [&](int e, char const* what) -> unique_socket { throw_listen_error(e, what, a.path); };
    unique_socket fd(open_socket(AF_UNIX, SOCK_STREAM, 0));
    if (!fd) return fail(errno, "socket");
    set_nonblocking_cloexec(fd.get());
    if (a.kind == listen_address::unix_file) {
        struct stat st {};
        if (::lstat(a.path.c_str(), &st) == 0) {
            if (!S_ISSOCK(st.st_mode)) return fail(EEXIST, "not a socket, left alone:");
            unique_socket probe(open_socket(AF_UNIX, SOCK_STREAM, 0));
            if (!probe) return fail(errno, "socket");
            set_nonblocking_cloexec(probe.get());  // a live server with a full backlog: EAGAIN, not a wait
            if (::connect(probe.get(), reinterpret_cast<sockaddr*>(&sa), len) == 0 || errno == EAGAIN ||
                errno == EINPROGRESS)
                return fail(EADDRINUSE, "another server listens on");
            if (errno != ECONNREFUSED && errno != ENOENT) return fail(errno, "connect");
            ::unlink(a.path.c_str());  // a leftover: nobody accepts on it
        }
    }
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), len) != 0) return fail(errno, "bind");
    if (a.kind == listen_address::unix_file) {
        struct stat st {};
        if (::lstat(a.path.c_str(), &st) == 0) made = {a.path, st.st_dev, st.st_ino};
        auto undo = [&](int e, char const* what) {
            made.remove();
            made = {};
            return fail(e, what);
        };
        if (::chmod(a.path.c_str(), settings.mode) != 0) return undo(errno, "chmod");
        std::uint32_t uid = static_cast<std::uint32_t>(-1), gid = static_cast<std::uint32_t>(-1);
        if (!settings.owner.empty() && !unix_socket_detail::lookup_id(settings.owner, true, uid))
            return undo(EINVAL, "no such user (unix_socket_owner) for");
        if (!settings.group.empty() && !unix_socket_detail::lookup_id(settings.group, false, gid))
            return undo(EINVAL, "no such group (unix_socket_group) for");
        if ((!settings.owner.empty() || !settings.group.empty()) &&
            ::lchown(a.path.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(gid)) != 0)
            return undo(errno, "chown");
    }
    if (::listen(fd.get(), backlog) != 0) {
        int e = errno;
        made.remove();
        made = {};
        return fail(e, "listen");
    }
    return fd;
}

// Accepts one connection as a non-blocking, close-on-exec descriptor; -1 with errno set when
// there is none or on error.
inline int accept_connection(int listen_fd, sockaddr_storage& peer, socklen_t& len) noexcept {
    len = sizeof peer;
#if defined(__linux__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__)
    return ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
    int fd = ::accept(listen_fd, reinterpret_cast<sockaddr*>(&peer), &len);
    if (fd >= 0) set_nonblocking_cloexec(fd);
    return fd;
#endif
}
#endif  // !_WIN32

// A peer's address in 28 bytes (sockaddr_storage takes 128), kept for every connection.
struct peer_address {
    union {
        sockaddr sa;
        sockaddr_in v4;
        sockaddr_in6 v6;
    } addr{};

    static peer_address from(sockaddr_storage const& ss) noexcept {
        peer_address p;
        if (ss.ss_family == AF_INET) {
            std::memcpy(&p.addr.v4, &ss, sizeof p.addr.v4);
        } else if (ss.ss_family == AF_INET6) {
            std::memcpy(&p.addr.v6, &ss, sizeof p.addr.v6);
            if (IN6_IS_ADDR_V4MAPPED(&p.addr.v6.sin6_addr)) {  // an IPv4 client of a dual-stack listener
                sockaddr_in v4{};
                v4.sin_family = AF_INET;
                v4.sin_port = p.addr.v6.sin6_port;
                std::memcpy(&v4.sin_addr, p.addr.v6.sin6_addr.s6_addr + 12, 4);
                p.addr.v4 = v4;
            }
        } else if (ss.ss_family == AF_UNIX) {
            p.addr.sa.sa_family = AF_UNIX;
        }
        return p;
    }

    // "203.0.113.7:5555", "[2001:db8::1]:5555", or "unix" (a Unix socket's peers are unnamed)
    // into out, NUL-terminated; returns the length written. By hand for IPv4, once per
    // connection: inet_ntop and snprintf go through printf's machinery.
    std::size_t format(char (&out)[64]) const noexcept {
        char* p = out;
        char* const end = out + sizeof out - 1;
        unsigned port = 0;
        if (addr.sa.sa_family == AF_UNIX) {
            std::memcpy(out, "unix", 5);
            return 4;
        }
        if (addr.sa.sa_family == AF_INET) {
            auto const* b = reinterpret_cast<unsigned char const*>(&addr.v4.sin_addr);
            for (int i = 0; i < 4; ++i) {
                if (i) *p++ = '.';
                p = std::to_chars(p, end, static_cast<unsigned>(b[i])).ptr;
            }
            port = ntohs(addr.v4.sin_port);
        } else if (addr.sa.sa_family == AF_INET6) {
            *p++ = '[';
            if (!::inet_ntop(AF_INET6, &addr.v6.sin6_addr, p, INET6_ADDRSTRLEN)) {
                out[0] = '\0';
                return 0;
            }
            p += std::strlen(p);
            *p++ = ']';
            port = ntohs(addr.v6.sin6_port);
        } else {
            out[0] = '\0';
            return 0;
        }
        *p++ = ':';
        p = std::to_chars(p, end, port).ptr;
        *p = '\0';
        return static_cast<std::size_t>(p - out);
    }
};

// Writes a small fixed reply on a freshly accepted socket, best effort, and closes it; the
// input that already arrived is read and dropped first so that the close sends FIN, not RST.
inline void reply_and_close(int fd, std::string_view reply) noexcept {
    if (!reply.empty()) (void)socket_send(fd, reply.data(), reply.size(), send_flags | dont_wait);
    shutdown_output(fd);
    char scratch[4096];
    for (int i = 0; i < 4 && socket_receive(fd, scratch, sizeof scratch, dont_wait) > 0; ++i) {}
    close_socket(fd);
}

// Before closing a connection whose peer may still have unread requests in our receive
// buffer, drop them: closing with unread input makes the kernel send RST, which can make the
// peer discard the last response before reading it.
inline void drain_and_close(int fd) noexcept {
    char scratch[4096];
    for (int i = 0; i < 4 && socket_receive(fd, scratch, sizeof scratch, dont_wait) > 0; ++i) {}
    close_socket(fd);
}

// Sends up to `count` bytes of an open file from `offset`; returns bytes sent or -1 (errno).
inline long send_file_range(int sock, int file, std::uint64_t offset, std::uint64_t count, char* scratch,
                            std::size_t scratch_size) noexcept {
    constexpr std::uint64_t max_step = std::uint64_t{1} << 20;
    if (count > max_step) count = max_step;
#if defined(__linux__)
    (void)scratch;
    (void)scratch_size;
    off_t off = static_cast<off_t>(offset);
    return static_cast<long>(::sendfile(sock, file, &off, static_cast<std::size_t>(count)));
#else
    // Portable path: pread into the loop's scratch buffer and send what fits; the bytes the
    // socket did not take are read again next time, so nothing is buffered per connection.
    if (count > scratch_size) count = scratch_size;
    long got = read_file_at(file, scratch, static_cast<std::size_t>(count), offset);
    if (got <= 0) {
        if (got == 0) errno = EIO;  // the file shrank under us
        return -1;
    }
    return socket_send(sock, scratch, static_cast<std::size_t>(got));
#endif
}

#if !defined(_WIN32)
// ---------------------------------------------------------------- wake-ups

// Something another thread can poke to interrupt a loop's wait: an eventfd on Linux, a pipe
// elsewhere. Only the read side is watched.
class wake_channel {
public:
    wake_channel() {
#if defined(__linux__)
        read_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
        if (!read_) throw_errno("eventfd");
#else
        open_pipe(read_, write_);
#endif
    }
    int fd() const noexcept { return read_.get(); }
    void notify() const noexcept {
#if defined(__linux__)
        std::uint64_t one = 1;
        (void)!::write(read_.get(), &one, sizeof one);
#else
        char c = 1;
        (void)!::write(write_.get(), &c, 1);
#endif
    }
    void clear() const noexcept {
        char buf[64];
        while (::read(read_.get(), buf, sizeof buf) > 0) {}
    }

private:
    unique_fd read_;
#if !defined(__linux__)
    unique_fd write_;
#endif
};

// ---------------------------------------------------------------- descriptors

// Every connection is a descriptor, and the usual soft limit (1024) is far below what a server
// holds; the hard limit is the administrator's word. Raise the soft one to it, never lower it.
// Returns the soft limit now in force; SIZE_MAX when there is none or it cannot be read.
inline std::size_t raise_descriptor_limit() noexcept {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return SIZE_MAX;
    if (lim.rlim_cur < lim.rlim_max) {
        rlim_t was = lim.rlim_cur;
        lim.rlim_cur = lim.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) lim.rlim_cur = was;
    }
    if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= SIZE_MAX) return SIZE_MAX;
    return static_cast<std::size_t>(lim.rlim_cur);
}

// ---------------------------------------------------------------- signals

// Writing to a socket whose peer is gone must give EPIPE, never kill the process; sendfile
// has no MSG_NOSIGNAL, so SIGPIPE is ignored when nobody chose a disposition for it.
inline void ignore_sigpipe_if_default() noexcept {
    struct sigaction old {};
    if (::sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) {
        struct sigaction ign {};
        ign.sa_handler = SIG_IGN;
        sigemptyset(&ign.sa_mask);
        ::sigaction(SIGPIPE, &ign, nullptr);
    }
}

// While alive, every asynchronous signal is blocked in this thread, and in the threads it
// starts meanwhile (they inherit the mask): signals belong to the program's own threads, so
// SIGINT/SIGTERM reach the one that waits for them. The faults that can only be synchronous
// stay deliverable.
class async_signals_blocked {
public:
    async_signals_blocked() noexcept {
        sigset_t all;
        sigfillset(&all);
        for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS}) sigdelset(&all, s);
        ::pthread_sigmask(SIG_BLOCK, &all, &old_);
    }
    async_signals_blocked(async_signals_blocked const&) = delete;
    async_signals_blocked& operator=(async_signals_blocked const&) = delete;
    ~async_signals_blocked() { ::pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

private:
    sigset_t old_;
};
#endif  // !_WIN32

}  // namespace porthole::detail

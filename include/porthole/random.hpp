// porthole/random.hpp: unpredictable bytes from the operating system, for tokens, session
// cookies and request ids: getrandom(2) on Linux, arc4random_buf on the BSDs and macOS,
// RtlGenRandom on Windows, /dev/urandom elsewhere.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/base64.hpp>
#include <porthole/detail/compiled_once.hpp>
#include <porthole/detail/platform.hpp>

#include <cerrno>
#include <cstddef>
#include <span>
#include <string>
#include <system_error>

#if defined(_WIN32)
#include <ntsecapi.h>
#else
#include <fcntl.h>
#include <unistd.h>
#endif
#if defined(__linux__)
#include <sys/random.h>
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__)
#include <stdlib.h>
#define PORTHOLE_HAVE_ARC4RANDOM 1
#endif

namespace porthole {

// Fills `out` with random bytes. Throws std::system_error if the system has none to give.
inline void random_bytes(std::span<unsigned char> out) {
#if defined(PORTHOLE_HAVE_ARC4RANDOM)
    ::arc4random_buf(out.data(), out.size());
#elif defined(_WIN32)
    for (std::size_t done = 0; done < out.size();) {
        auto n = static_cast<ULONG>(out.size() - done > 0x10000 ? 0x10000 : out.size() - done);
        if (!RtlGenRandom(out.data() + done, n))
            throw std::system_error(EIO, std::generic_category(), "porthole: RtlGenRandom");
        done += n;
    }
#else
    std::size_t done = 0;
#if defined(__linux__)
    while (done < out.size()) {
        auto n = ::getrandom(out.data() + done, out.size() - done, 0);
        if (n > 0) done += static_cast<std::size_t>(n);
        else if (errno != EINTR) break;
    }
#endif
    if (done < out.size()) {  // no getrandom (an old kernel, a sandbox): the device
        int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw std::system_error(errno, std::generic_category(), "porthole: /dev/urandom");
        while (done < out.size()) {
            auto n = ::read(fd, out.data() + done, out.size() - done);
            if (n > 0) {
                done += static_cast<std::size_t>(n);
            } else if (n == 0 || errno != EINTR) {
                int e = n == 0 ? EIO : errno;
                ::close(fd);
                throw std::system_error(e, std::generic_category(), "porthole: /dev/urandom");
            }
        }
        ::close(fd);
    }
#endif
}

// `bytes` random bytes as base64url without padding: usable as is in a URL, a cookie value and
// a Bearer token. 32 bytes (43 characters) by default: 256 bits, beyond guessing.
PORTHOLE_DETAIL_INLINE std::string random_token(std::size_t bytes = 32);

}  // namespace porthole

// The bodies: in every file, or once (detail/compiled_once.hpp).
#if PORTHOLE_DETAIL_DEFINE_HERE
namespace porthole {

PORTHOLE_DETAIL_INLINE std::string random_token(std::size_t bytes) {
    unsigned char buf[64];
    std::string raw;
    while (bytes > 0) {
        std::size_t n = bytes < sizeof buf ? bytes : sizeof buf;
        random_bytes(std::span<unsigned char>(buf, n));
        raw.append(reinterpret_cast<char const*>(buf), n);
        bytes -= n;
    }
    return base64::encode(raw, base64::alphabet::url);
}

}  // namespace porthole
#endif

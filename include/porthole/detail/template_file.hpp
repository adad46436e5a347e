// porthole/detail/template_file.hpp: reading a run-time template's file (template.hpp's
// load_template, template_cache.hpp): a regular file only, opened without waiting, and no more
// bytes than a limit, counted as they are read; and template_error, which both throw.
#pragma once

#include <porthole/detail/compiled_once.hpp>
#include <porthole/detail/platform.hpp>
#include <porthole/unique_fd.hpp>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <string>
#include <system_error>

namespace porthole {

// Thrown by run-time templates: a marker without a value, or a template file that cannot be read.
class template_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The largest template file read unless told otherwise (load_template, template_cache_options):
// 16 MiB, far above any page and far below what would exhaust memory.
inline constexpr std::size_t default_max_template_file_size = std::size_t{16} << 20;

namespace detail {

inline template_error file_error(std::filesystem::path const& file, std::string const& reason) {
    return template_error("cannot read template file \"" + file.string() + "\": " + reason);
}

// A template file opened for reading: only a regular file (a FIFO, a device or a directory could
// block the reader or never end), opened without waiting (O_NONBLOCK: opening a FIFO waits for a
// writer). Throws template_error.
struct template_file {
    unique_fd fd;
    file_status status;
};
PORTHOLE_DETAIL_INLINE template_file open_template_file(std::filesystem::path const& file);

// The whole of an opened template file, measured as it is read (it may have grown since it was
// opened): more than max_size bytes throws template_error.
PORTHOLE_DETAIL_INLINE std::string read_template_file(std::filesystem::path const& file, template_file const& opened,
                                                      std::size_t max_size);
}  // namespace detail

}  // namespace porthole

// The bodies: in every file, or once (detail/compiled_once.hpp).
#if PORTHOLE_DETAIL_DEFINE_HERE
namespace porthole {

PORTHOLE_DETAIL_INLINE detail::template_file detail::open_template_file(std::filesystem::path const& file) {
    template_file opened;
#if defined(_WIN32)
    opened.fd.reset(open_file_for_reading(reinterpret_cast<char const*>(file.u8string().c_str())));
#else
    opened.fd.reset(::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
#endif
    if (!opened.fd || !status_of(opened.fd.get(), opened.status)) {
        throw file_error(file, std::generic_category().message(errno));
    }
    if (opened.status.directory) throw file_error(file, std::generic_category().message(EISDIR));
    if (!opened.status.regular) throw file_error(file, "not a regular file");
    return opened;
}

PORTHOLE_DETAIL_INLINE std::string detail::read_template_file(std::filesystem::path const& file,
                                                              template_file const& opened, std::size_t max_size) {
    auto too_large = [&] {
        return file_error(file, "larger than the limit of " + std::to_string(max_size) + " bytes");
    };
    if (opened.status.size > max_size) throw too_large();  // without reading it: the size is known
    const std::size_t room_limit = max_size + (max_size < std::numeric_limits<std::size_t>::max());
    // Room for the size fstat gave and one byte more, to see the end (or growth) in one read.
    std::string text(static_cast<std::size_t>(std::min<std::uint64_t>(opened.status.size, room_limit - 1)) + 1, '\0');
    std::size_t filled = 0;
    for (;;) {
        if (filled == text.size()) {
            if (filled > max_size) throw too_large();
            text.resize(std::min(filled * 2, room_limit));
        }
        long const got = read_file_at(opened.fd.get(), text.data() + filled, text.size() - filled, filled);
        if (got == 0) break;
        if (got > 0) filled += static_cast<std::size_t>(got);
        else if (errno != EINTR) throw file_error(file, std::generic_category().message(errno));
    }
    if (filled > max_size) throw too_large();
    text.resize(filled);
    return text;
}

}  // namespace porthole
#endif

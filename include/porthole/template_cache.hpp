// porthole/template_cache.hpp: template files loaded once and shared between threads, reloaded
// when they change if asked (for development, where templates are edited while the server runs).
//
//   porthole::template_cache pages;
//   auto page = pages.get("templates/status.html");   // a std::shared_ptr<const page_template>
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/template.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace porthole {

struct template_cache_options {
    // Check the file's modification time, size and number (inode) on every get() and reload it
    // when one changes: for development, where templates are edited while the server runs.
    bool reload_on_change = false;
    // A file holding more bytes than this is refused (template_error), counted as it is read.
    std::size_t max_file_size = default_max_template_file_size;
};

// Template files loaded once and shared. get() is thread-safe, and reads files outside its lock:
// a slow file delays only the get() that reads it. A template returned stays valid while it is
// used, even if a reload replaces it in the cache.
// It keeps one entry per name as given ("a.html" and "./a.html" are two), without a bound, for
// the program's life (clear() frees them). Names must not come from a request: a route's {name}
// may hold "/" and "..", and each new one would grow the cache; map the request's value to one
// of the program's own file names (docs/template.md).
class template_cache {
public:
    template_cache() = default;
    explicit template_cache(template_cache_options options) noexcept : options_(options) {}

    // Throws template_error when the file cannot be read, is not a regular file (a FIFO, a
    // device, a directory) or is larger than max_file_size; also on a reload. Two threads
    // loading one new file at once may both read it; one result is kept and given to both.
    std::shared_ptr<const page_template> get(std::filesystem::path const& file) {
        if (!options_.reload_on_change) {
            {
                std::lock_guard lock(mutex_);
                auto it = entries_.find(file.native());
                if (it != entries_.end()) return it->second.page;
            }
            entry fresh{std::make_shared<const page_template>(load_template(file, options_.max_file_size))};
            std::lock_guard lock(mutex_);
            return entries_.try_emplace(file.native(), std::move(fresh)).first->second.page;
        }
        // The status of the open file, not of the name: what is compared is what is read.
        detail::template_file opened = detail::open_template_file(file);
        entry fresh{nullptr, opened.status};
        {
            std::lock_guard lock(mutex_);
            auto it = entries_.find(file.native());
            if (it != entries_.end() && it->second.same_version(fresh)) return it->second.page;
        }
        fresh.page =
            std::make_shared<const page_template>(detail::read_template_file(file, opened, options_.max_file_size));
        std::lock_guard lock(mutex_);
        entries_.insert_or_assign(file.native(), fresh);
        return fresh.page;
    }

    void clear() {
        std::lock_guard lock(mutex_);
        entries_.clear();
    }

private:
    struct entry {
        std::shared_ptr<const page_template> page;
        detail::file_status status{};  // of the file read, with reload_on_change
        // Another file put in its place (a rename, a switched symlink) is another version
        // however alike their times and sizes (`cp -p`).
        bool same_version(entry const& o) const noexcept {
            return status.id == o.status.id && status.mtime_seconds == o.status.mtime_seconds &&
                   status.mtime_nanoseconds == o.status.mtime_nanoseconds && status.size == o.status.size;
        }
    };
    template_cache_options options_;
    std::mutex mutex_;
    std::unordered_map<std::filesystem::path::string_type, entry> entries_;
};

}  // namespace porthole

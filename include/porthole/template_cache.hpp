// porthole/template_cache.hpp: template files loaded once and shared between threads, reloaded
// when they change if asked (for development, where templates are edited while the server runs).
//
//   porthole::template_cache pages;
//   auto page = pages.get("templates/status.html");   // a std::shared_ptr<const page_template>
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/template.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <system_error>
#include <unordered_map>

namespace porthole {

struct template_cache_options {
    // Check the file's modification time and size on every get() and reload it when they
    // change: for development, where templates are edited while the server runs.
    bool reload_on_change = false;
};

// Template files loaded once and shared. get() is thread-safe; a template returned stays valid
// while it is used, even if a reload replaces it in the cache.
class template_cache {
public:
    template_cache() = default;
    explicit template_cache(template_cache_options options) noexcept : options_(options) {}

    // Throws template_error when the file cannot be read (also on a reload).
    std::shared_ptr<const page_template> get(std::filesystem::path const& file) {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(file.native());
        if (it != entries_.end() && !options_.reload_on_change) return it->second.page;
        entry fresh{};
        if (options_.reload_on_change) {
            std::error_code error;
            fresh.modified = std::filesystem::last_write_time(file, error);
            if (!error) fresh.size = std::filesystem::file_size(file, error);
            if (error) throw detail::file_error(file, error.message());
            if (it != entries_.end() && it->second.modified == fresh.modified && it->second.size == fresh.size) {
                return it->second.page;
            }
        }
        fresh.page = std::make_shared<const page_template>(load_template(file));
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
        std::filesystem::file_time_type modified;
        std::uintmax_t size;
    };
    template_cache_options options_;
    std::mutex mutex_;
    std::unordered_map<std::filesystem::path::string_type, entry> entries_;
};

}  // namespace porthole

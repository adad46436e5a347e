// template_cache.hpp: files loaded once and shared, reloaded on change when asked.
#include <porthole/template_cache.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

using namespace porthole;

namespace {

std::filesystem::path scratch_dir() {
    auto dir = std::filesystem::path(PORTHOLE_BUILD_DIR) / "test_template_cache_files";
    std::filesystem::create_directories(dir);
    return dir;
}

void write_file(std::filesystem::path const& file, std::string_view text) {
    std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
}

}  // namespace

TEST_CASE("template_cache loads a file once and shares it") {
    auto const file = scratch_dir() / "shared.html";
    write_file(file, "one @@v@@");
    template_cache cache;
    auto first = cache.get(file);
    write_file(file, "two @@v@@");
    std::filesystem::last_write_time(file, std::filesystem::last_write_time(file) + std::chrono::seconds(5));
    auto second = cache.get(file);
    CHECK(first == second);  // no reload without reload_on_change
    CHECK(second->render({{"v", 1}}).view() == "one 1");
    cache.clear();
    CHECK(cache.get(file)->render({{"v", 1}}).view() == "two 1");
    CHECK_THROWS_AS(cache.get(scratch_dir() / "no-such-template.html"), template_error);
}

TEST_CASE("template_cache with reload_on_change reloads a file whose mtime changed") {
    auto const file = scratch_dir() / "reload.html";
    write_file(file, "old @@v@@");
    auto const old_time = std::filesystem::last_write_time(file);
    template_cache cache{{.reload_on_change = true}};
    auto before = cache.get(file);
    CHECK(before->render({{"v", 1}}).view() == "old 1");
    CHECK(cache.get(file) == before);  // unchanged file: same template

    write_file(file, "new @@v@@");  // same size: only the mtime tells
    std::filesystem::last_write_time(file, old_time + std::chrono::seconds(10));
    auto after = cache.get(file);
    CHECK(after != before);
    CHECK(after->render({{"v", 2}}).view() == "new 2");
    CHECK(before->render({{"v", 1}}).view() == "old 1");  // still usable by whoever holds it

    std::filesystem::remove(file);
    CHECK_THROWS_AS(cache.get(file), template_error);
}

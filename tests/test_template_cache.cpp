// template_cache.hpp: files loaded once and shared, reloaded on change when asked.
#include <porthole/template_cache.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <limits>
#include <string>
#include <string_view>

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

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

// What get() threw, or "loaded".
std::string get_failure(template_cache& cache, std::filesystem::path const& file) {
    try {
        (void)cache.get(file);
        return "loaded";
    } catch (template_error const& e) {
        return e.what();
    }
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

TEST_CASE("template_cache keeps one entry per name as given, as documented") {
    auto const file = scratch_dir() / "named.html";
    write_file(file, "x");
    template_cache cache;
    auto const plain = cache.get(file);
    CHECK(cache.get(scratch_dir() / "." / "named.html") != plain);  // no normalisation: two entries
    CHECK(cache.get(file) == plain);
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

TEST_CASE("template_cache with reload_on_change reloads when another file takes the name, however alike") {
    auto const file = scratch_dir() / "swapped.html";
    auto const other = scratch_dir() / "swapped.next";
    write_file(file, "one @@v@@");
    write_file(other, "two @@v@@");  // same size, and the same time below (as `cp -p` leaves it)
    auto const time = std::filesystem::last_write_time(file);
    std::filesystem::last_write_time(other, time);
    template_cache cache{{.reload_on_change = true}};
    auto before = cache.get(file);
    CHECK(before->render({{"v", 1}}).view() == "one 1");
    std::filesystem::rename(other, file);  // how editors and deploys replace a file
    REQUIRE(std::filesystem::last_write_time(file) == time);
    auto after = cache.get(file);  // the same template before the file's number was compared too
    CHECK(after != before);
    CHECK(after->render({{"v", 2}}).view() == "two 2");
    CHECK(cache.get(file) == after);
}

#if !defined(_WIN32)
TEST_CASE("template_cache refuses a FIFO at once, without blocking other threads' get()") {
    auto const fifo = scratch_dir() / "pipe.html";
    std::filesystem::remove(fifo);
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    auto const cached = scratch_dir() / "beside_pipe.html";
    write_file(cached, "cached @@v@@");
    for (bool reload : {false, true}) {
        CAPTURE(reload);
        template_cache cache{{.reload_on_change = reload}};
        auto const page = cache.get(cached);
        auto fifo_get = std::async(std::launch::async, [&] { return get_failure(cache, fifo); });
        (void)fifo_get.wait_for(std::chrono::milliseconds(100));  // let it start first
        auto cached_get = std::async(std::launch::async, [&] { return cache.get(cached); });
        CHECK(fifo_get.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
        CHECK(cached_get.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
        // A reader still waiting for a writer (as get() did before) is let go, so the test ends.
        int const writer = ::open(fifo.c_str(), O_RDWR | O_NONBLOCK);
        if (writer >= 0) ::close(writer);
        CHECK(fifo_get.get() == "cannot read template file \"" + fifo.string() + "\": not a regular file");
        CHECK(cached_get.get() == page);
    }
}

TEST_CASE("template_cache refuses a symlink to a device, as a regular file only is read") {
    auto const link = scratch_dir() / "device.html";
    std::filesystem::remove(link);
    std::filesystem::create_symlink("/dev/null", link);
    for (bool reload : {false, true}) {
        CAPTURE(reload);
        template_cache cache{{.reload_on_change = reload}};
        CHECK(get_failure(cache, link) == "cannot read template file \"" + link.string() + "\": not a regular file");
    }
    CHECK_THROWS_WITH_AS(load_template(link),
                         ("cannot read template file \"" + link.string() + "\": not a regular file").c_str(),
                         template_error);
}
#endif

TEST_CASE("template_cache refuses a file larger than max_file_size") {
    auto const file = scratch_dir() / "large.html";
    write_file(file, std::string(100, 'x'));
    for (bool reload : {false, true}) {
        CAPTURE(reload);
        template_cache exact{{.reload_on_change = reload, .max_file_size = 100}};
        CHECK(exact.get(file)->text().size() == 100);
        template_cache smaller{{.reload_on_change = reload, .max_file_size = 99}};
        CHECK(get_failure(smaller, file) ==
              "cannot read template file \"" + file.string() + "\": larger than the limit of 99 bytes");
    }
    CHECK_THROWS_AS(load_template(file, 99), template_error);
    CHECK(load_template(file, 100).text().size() == 100);
    CHECK(load_template(file, std::numeric_limits<std::size_t>::max()).text().size() == 100);  // no limit
    static_assert(default_max_template_file_size == 16 << 20);
    static_assert(template_cache_options{}.max_file_size == default_max_template_file_size);
}

// How fast is template rendering? A ~10 KB page with 20 markers, rendered by porthole's literal
// (compile-time) and run-time templates, against the find-and-replace approach: one
// std::string::replace per marker occurrence, each search starting again at the beginning.
// Prints ns per render (median of 5 runs), the ratio to find-and-replace, and heap allocations
// per render counted by a replaced global operator new.
#include <porthole/template.hpp>

#include "../tests/allocation_count.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace {

using porthole::arg;

#define PARAGRAPH                                                                                  \
    "<p class=\"text\">Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod "   \
    "tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "   \
    "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor " \
    "in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur.</p>\n"
#define SECTION(n) "<section id=\"s" #n "\">\n  <h2>@@v" #n "@@</h2>\n" PARAGRAPH "</section>\n"

constexpr auto page = porthole::make_template<
    "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Report</title>\n"
    "<link rel=\"stylesheet\" href=\"/static/site.css\"></head>\n<body>\n<main>\n" SECTION(00) SECTION(01) SECTION(02)
        SECTION(03) SECTION(04) PARAGRAPH PARAGRAPH SECTION(05) SECTION(06) SECTION(07) SECTION(08) SECTION(09)
            PARAGRAPH SECTION(10) SECTION(11) SECTION(12) SECTION(13) SECTION(14) PARAGRAPH SECTION(15) SECTION(16)
                SECTION(17) SECTION(18) SECTION(19) PARAGRAPH "</main>\n</body>\n</html>\n">();

// Plain values (nothing to escape), so every approach produces the same page.
const std::array<std::string, 20> values{
    "Quarterly report", "Ann Example",    "42 open tickets", "Build 1.2.3",       "Main branch",
    "Last deployment",  "Team Porthole",  "2024-05-01",      "All systems green", "3 warnings",
    "Disk 71% used",    "Latency 3.2 ms", "Requests 1.2M",   "Errors 0.01%",      "Cache hit 98%",
    "Queue length 7",   "Workers 16",     "Uptime 41 days",  "Region eu-west",    "Version 2024.5",
};

const std::array<std::string, 20> names{"v00", "v01", "v02", "v03", "v04", "v05", "v06", "v07", "v08", "v09",
                                        "v10", "v11", "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19"};

std::string find_and_replace(std::string const& text) {
    std::string out = text;
    for (std::size_t i = 0; i < names.size(); ++i) {
        const std::string marker = "@@" + names[i] + "@@";
        for (auto at = out.find(marker); at != std::string::npos; at = out.find(marker)) {
            out.replace(at, marker.size(), values[i]);
        }
    }
    return out;
}

// Calls f with the 20 values as named arguments of the literal template.
template <class F>
decltype(auto) with_named_values(F&& f) {
    auto const& v = values;
    return f(arg<"v00">(v[0]), arg<"v01">(v[1]), arg<"v02">(v[2]), arg<"v03">(v[3]), arg<"v04">(v[4]), arg<"v05">(v[5]),
             arg<"v06">(v[6]), arg<"v07">(v[7]), arg<"v08">(v[8]), arg<"v09">(v[9]), arg<"v10">(v[10]),
             arg<"v11">(v[11]), arg<"v12">(v[12]), arg<"v13">(v[13]), arg<"v14">(v[14]), arg<"v15">(v[15]),
             arg<"v16">(v[16]), arg<"v17">(v[17]), arg<"v18">(v[18]), arg<"v19">(v[19]));
}

porthole::html literal_fresh() {
    return with_named_values([](auto const&... a) { return page.render(a...); });
}

std::array<porthole::named_value, 20> runtime_values() {
    std::array<porthole::named_value, 20> list{};
    for (std::size_t i = 0; i < list.size(); ++i) list[i] = {names[i], values[i]};
    return list;
}

struct mode {
    char const* name;
    std::function<std::size_t()> render;  // returns the output size, so the work is observable
    std::size_t iterations = 1;
    std::array<double, 5> ns{};
    double allocations = 0;
};

std::size_t sink = 0;

double time_per_call(mode& m) {
    auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < m.iterations; ++i) sink += m.render();
    std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - start;
    return took.count() / static_cast<double>(m.iterations);
}

// Runs the modes in turn, 5 rounds, so that a busy machine slows all of them alike; each keeps
// its median. Allocations are counted per call after warm-up.
void measure(std::vector<mode>& modes) {
    for (mode& m : modes) {
        sink += m.render();  // warm-up: sizes reused buffers
        while (time_per_call(m) * static_cast<double>(m.iterations) < 5e7) m.iterations *= 2;
        const std::size_t before = allocation_count::now();
        constexpr std::size_t counted = 1000;
        for (std::size_t i = 0; i < counted; ++i) sink += m.render();
        m.allocations = static_cast<double>(allocation_count::now() - before) / counted;
    }
    for (std::size_t round = 0; round < 5; ++round) {
        for (mode& m : modes) m.ns[round] = time_per_call(m);
    }
    for (mode& m : modes) std::sort(m.ns.begin(), m.ns.end());
}

}  // namespace

int main() {
    const std::string text(page.text());
    const std::string expected = find_and_replace(text);
    const porthole::page_template runtime{text};
    auto const list = runtime_values();
    std::string reused;

    if (literal_fresh().view() != expected || runtime.render(list).view() != expected) {
        std::puts("template_bench: renderings differ from find-and-replace");
        return 1;
    }

    std::vector<mode> modes;
    modes.push_back({"find + std::string::replace per marker", [&] { return find_and_replace(text).size(); }});
    modes.push_back({"literal_template render()", [&] { return literal_fresh().view().size(); }});
    modes.push_back({"literal_template render_to(reused string)", [&] {
                         reused.clear();
                         with_named_values([&](const auto&... a) { page.render_to(reused, a...); });
                         return reused.size();
                     }});
    modes.push_back({"page_template render({...})", [&] { return runtime.render(list).view().size(); }});
    modes.push_back({"page_template render_to(reused string, {...})", [&] {
                         reused.clear();
                         runtime.render_to(reused, list);
                         return reused.size();
                     }});
    measure(modes);

    std::printf("template_bench: %zu-byte page, %zu markers, %zu-byte output; median of 5 runs\n", text.size(),
                page.marker_count, expected.size());
    std::printf("%-46s %10s %14s %9s\n", "", "ns/render", "allocs/render", "speed-up");
    double const baseline = modes[0].ns[2];
    for (mode const& m : modes) {
        std::printf("%-46s %10.1f %14.2f %8.1fx\n", m.name, m.ns[2], m.allocations, baseline / m.ns[2]);
    }
    if (sink == 42) std::puts("");
}

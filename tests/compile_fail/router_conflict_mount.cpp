// expect: two routes match the same paths with overlapping methods
// A mount takes every method below its prefix, like a rest route there.
#include <porthole/router.hpp>

#include <cstdint>
#include <string_view>

auto app = porthole::router{
    porthole::get<"/static/{path...}">([](std::string_view) { return "a"; }),
    porthole::mount<"/static">([](porthole::request const&) { return "b"; }),
};

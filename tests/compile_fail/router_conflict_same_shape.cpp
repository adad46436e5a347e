// expect: two routes match the same paths with overlapping methods
// Patterns that differ only in parameter names, with a method in common, are one route declared twice.
#include <porthole/router.hpp>

#include <cstdint>
#include <string_view>

auto app = porthole::router{
    porthole::get<"/users/{id}">([](std::string_view) { return "a"; }),
    porthole::route<"/users/{name}", porthole::GET | porthole::POST>([](std::string_view) { return "b"; }),
};

// expect: porthole layer: a layer needs before(porthole::request const&), after(porthole::response&), or both
// A misspelled after() leaves a class with neither: not a layer.
#include <porthole/layer.hpp>

struct misspelled {
    void afterwards(porthole::response&) const {}
};

auto app = porthole::layers{misspelled{}}([](porthole::request const&) { return "x"; });
auto r = app(porthole::request{});

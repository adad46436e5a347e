// expect: two values given for one marker
// Two values for one marker would leave one unused: a compile-time error naming it (@@name@@).
#include <porthole/template.hpp>

int main() {
    constexpr auto page = porthole::make_template<"<p>@@name@@</p>">();
    (void)page.render(porthole::arg<"name">("Ann"), porthole::arg<"name">("Bob"));
}

// expect: template has no marker for this value
// A value whose name is not a marker of the template is a compile-time error naming it (@@foo@@).
#include <porthole/template.hpp>

int main() {
    constexpr auto page = porthole::make_template<"<p>@@name@@</p>">();
    (void)page.render(porthole::arg<"name">("Ann"), porthole::arg<"foo">(1));
}

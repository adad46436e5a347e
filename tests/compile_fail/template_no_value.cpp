// expect: no value given for a marker
// A marker of the template without a value is a compile-time error naming it (@@name@@).
#include <porthole/template.hpp>

int main() {
    using namespace porthole::literals;
    constexpr auto page = "<p>@@greeting@@, @@name@@</p>"_tpl;
    (void)page.render("greeting"_v = "Hello");
}

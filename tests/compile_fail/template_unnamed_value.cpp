// expect: literal templates take values as porthole::arg
// Values of a literal template carry their names, so the names can be checked at compile time.
#include <porthole/template.hpp>

int main() {
    constexpr auto page = porthole::make_template<"<p>@@name@@</p>">();
    (void)page.render("Ann");
}

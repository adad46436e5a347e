// expect: nullptr cannot be a template value
// nullptr converts to std::string_view and was read as a C string at run time (a crash).
#include <porthole/template.hpp>

int main() {
    porthole::page_template page{"<p>@@who@@</p>"};
    (void)page.render({{"who", nullptr}});
}

// expect: define PORTHOLE_IMPLEMENTATION before the first porthole include
// A porthole header included first settles that this file compiles the bodies meant to be
// compiled once as inline ones (header-only), which no other file of the program could call.
#include <porthole/template.hpp>

#define PORTHOLE_IMPLEMENTATION
#include <porthole/porthole.hpp>

// The one file that compiles serve() (porthole/serve.hpp): the event loops, the connections,
// the listeners. Every other file of the program calls it.
#define PORTHOLE_IMPLEMENTATION
#include <porthole/porthole.hpp>

// expect: porthole::options is now porthole::server_options
// The former name still compiles, with a warning that says what to write: an error here, so that
// the warning and its words are checked. Code that never names it gets no warning: the doc
// snippets include it and compile with -Werror.
#pragma GCC diagnostic error "-Wdeprecated-declarations"
#include <porthole/options.hpp>

porthole::options o;

// porthole/detail/cxx20.hpp: the language check every public header makes before anything else,
// so that a program built as C++17 is told the flag to change in one line, rather than in a
// thousand lines of errors from the code that follows.
#pragma once

#if (defined(_MSVC_LANG) ? _MSVC_LANG : __cplusplus) < 202002L
#error "porthole needs C++20: compile with -std=c++20 (GCC, Clang) or /std:c++20 (MSVC)"
#include <porthole_stops_here_without_cxx20>  // a missing header ends compilation at once
#endif

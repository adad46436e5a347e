#pragma once
// porthole/porthole.hpp: everything porthole offers, in one include.
#include <porthole/http.hpp>
#include <porthole/template.hpp>

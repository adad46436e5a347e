#pragma once
// porthole/porthole.hpp: everything porthole offers, in one include.
#include <porthole/http.hpp>
#include <porthole/parser.hpp>
#include <porthole/http_date.hpp>
#include <porthole/url.hpp>
#include <porthole/cookie.hpp>
#include <porthole/multipart.hpp>
#include <porthole/request.hpp>
#include <porthole/response.hpp>
#include <porthole/app.hpp>
#include <porthole/connection.hpp>
#include <porthole/testing.hpp>
#include <porthole/route_pattern.hpp>
#include <porthole/router.hpp>
#include <porthole/form.hpp>

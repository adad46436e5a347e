#pragma once
// porthole/porthole.hpp: everything porthole offers, in one include.
#include <porthole/detail/cxx20.hpp>
#include <porthole/http.hpp>
#include <porthole/parse_error.hpp>
#include <porthole/chunked.hpp>
#include <porthole/parser.hpp>
#include <porthole/http_date.hpp>
#include <porthole/url.hpp>
#include <porthole/cookie.hpp>
#include <porthole/multipart.hpp>
#include <porthole/request.hpp>
#include <porthole/response.hpp>
#include <porthole/mailbox.hpp>
#include <porthole/responder.hpp>
#include <porthole/stream.hpp>
#include <porthole/sse.hpp>
#include <porthole/event_hub.hpp>
#include <porthole/app.hpp>
#include <porthole/body_stream.hpp>
#include <porthole/layer.hpp>
#include <porthole/access_log.hpp>
#include <porthole/base64.hpp>
#include <porthole/random.hpp>
#include <porthole/auth.hpp>
#include <porthole/cors.hpp>
#include <porthole/security_headers.hpp>
#include <porthole/request_id.hpp>
#include <porthole/rate_limit.hpp>
#include <porthole/encoding.hpp>
#include <porthole/compression.hpp>
#include <porthole/worker_pool.hpp>
#include <porthole/blocking.hpp>
#include <porthole/connection.hpp>
#include <porthole/testing.hpp>
#include <porthole/template.hpp>
#include <porthole/template_cache.hpp>
#include <porthole/mime.hpp>
#include <porthole/static_files.hpp>
#include <porthole/options.hpp>
#include <porthole/command_line.hpp>
#include <porthole/server.hpp>
#include <porthole/serve.hpp>
#include <porthole/route_pattern.hpp>
#include <porthole/router.hpp>
#include <porthole/form.hpp>
#include <porthole/websocket_frame.hpp>
#include <porthole/websocket_deflate.hpp>
#include <porthole/websocket_handshake.hpp>
#include <porthole/websocket_connection.hpp>
#include <porthole/websocket.hpp>
#include <porthole/metrics.hpp>
#include <porthole/json_string.hpp>
#include <porthole/expvar.hpp>
#include <porthole/exposition.hpp>
#if defined(PORTHOLE_WITH_JSON)
#include <porthole/json.hpp>
#endif
// HTTPS when the program is built with OpenSSL 3 (porthole-tls defines PORTHOLE_WITH_TLS);
// never otherwise. The single header leaves this include as it is: tls.hpp ships beside it.
#if defined(PORTHOLE_WITH_TLS)
#include <porthole/tls.hpp>
#endif

// serve() compiled once, in the one file that asks for it (serve.hpp): here, last, after HTTPS.
#if defined(PORTHOLE_IMPLEMENTATION)
#include <porthole/detail/serve_compiled.hpp>
#endif

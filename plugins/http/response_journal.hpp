#pragma once

// How http.fetch keeps responses in the run journal, so that a resumed run (--resume) does not
// ask again what an interrupted run already got an answer to: the key a request is filed
// under and the one-line form of a response.

#include "conveyor/net/http_client.hpp"

#include <optional>
#include <string>

namespace conveyor::plugins::http {

/// What identifies a request in the journal: a fingerprint of its method, URL, headers and
/// body.
std::string request_key(const net::HttpRequest& r);

/// A response as one line of JSON: {"s":200,"r":"OK","h":[["k","v"],...],"b":"..."}.
std::string encode_response(const net::HttpResponse& r);

/// The response encode_response() wrote; nullopt when `text` is not one.
std::optional<net::HttpResponse> decode_response(const std::string& text);

} // namespace conveyor::plugins::http

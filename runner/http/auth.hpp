// Values of the Authorization header: HTTP Basic (RFC 7617) and Bearer tokens (RFC 6750).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice::http {

// "Basic " + base64(user ":" password)
std::string basic_authorization(std::string_view user, std::string_view password);

// "Bearer " + token
std::string bearer_authorization(std::string_view token);

// Standard base64 with padding (RFC 4648 section 4).
std::string base64_encode(std::string_view bytes);

// Decodes standard base64 (padding optional, whitespace skipped); nullopt when it is not
// base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace sluice::http

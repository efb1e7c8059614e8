// Reference parsing, after the grammar of distribution/reference (simplified: the
// character classes are checked, the length limits are not).
#include "runner/oci/reference.hpp"

#include <algorithm>
#include <cctype>

#include "runner/oci/digest.hpp"

namespace sluice::oci {

namespace {

bool is_lower_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// A path component: lowercase alphanumerics separated by `.`, `_`, `__` or `-` runs.
bool valid_component(std::string_view c) {
    if (c.empty() || !is_lower_alnum(c.front()) || !is_lower_alnum(c.back())) return false;
    return std::ranges::all_of(c, [](char ch) {
        return is_lower_alnum(ch) || ch == '.' || ch == '_' || ch == '-';
    });
}

bool valid_tag(std::string_view t) {
    if (t.empty() || t.size() > 128) return false;
    if (!(std::isalnum(static_cast<unsigned char>(t.front())) || t.front() == '_')) return false;
    return std::ranges::all_of(t, [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '-';
    });
}

// The first part of a name is a registry when it has a `.` or a `:` or is localhost.
bool looks_like_host(std::string_view part) {
    return part.find('.') != std::string_view::npos || part.find(':') != std::string_view::npos ||
           part == "localhost";
}

}  // namespace

util::Result<Reference> parse_reference(std::string_view text) {
    auto bad = [&](const std::string& why) {
        return util::fail(util::ErrorCode::bad_input,
                          "not an image reference: \"" + std::string(text) + "\": " + why);
    };
    if (text.empty()) return bad("it is empty");
    Reference ref;
    std::string_view rest = text;
    if (auto at = rest.find('@'); at != std::string_view::npos) {
        auto digest = parse_digest(rest.substr(at + 1));
        if (!digest) return bad(digest.error().message);
        ref.digest = digest->to_string();
        rest = rest.substr(0, at);
    }
    // A tag is after the last ':' that comes after the last '/'.
    auto slash = rest.rfind('/');
    auto colon = rest.rfind(':');
    if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
        ref.tag = std::string(rest.substr(colon + 1));
        if (!valid_tag(ref.tag)) return bad("\"" + ref.tag + "\" is not a valid tag");
        rest = rest.substr(0, colon);
    }
    auto first_slash = rest.find('/');
    std::string_view path = rest;
    if (first_slash != std::string_view::npos && looks_like_host(rest.substr(0, first_slash))) {
        ref.registry = std::string(rest.substr(0, first_slash));
        path = rest.substr(first_slash + 1);
    } else {
        ref.registry = "docker.io";
    }
    if (path.empty()) return bad("no repository");
    std::size_t start = 0;
    while (start <= path.size()) {
        auto end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        if (!valid_component(path.substr(start, end - start))) {
            return bad("repository names are lowercase letters, digits and . _ - separated by /");
        }
        start = end + 1;
    }
    ref.repository = std::string(path);
    if (ref.registry == "docker.io" && ref.repository.find('/') == std::string::npos) {
        ref.repository = "library/" + ref.repository;
    }
    if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
    return ref;
}

std::string Reference::name() const { return registry + "/" + repository; }

std::string Reference::to_string() const {
    std::string out = name();
    if (!tag.empty()) out += ":" + tag;
    if (!digest.empty()) out += "@" + digest;
    return out;
}

std::string api_host(const std::string& registry) {
    return registry == "docker.io" ? "registry-1.docker.io" : registry;
}

std::string api_scheme(const std::string& registry, const std::vector<std::string>& insecure) {
    std::string host = registry;
    if (host.starts_with("[")) {
        host = host.substr(0, host.find(']') + 1);
    } else if (auto colon = host.rfind(':'); colon != std::string::npos) {
        host = host.substr(0, colon);
    }
    if (host == "localhost" || host.starts_with("127.") || host == "[::1]") return "http";
    for (const auto& h : insecure) {
        if (h == registry || h == host) return "http";
    }
    return "https";
}

std::string api_base(const std::string& registry, const std::vector<std::string>& insecure) {
    return api_scheme(registry, insecure) + "://" + api_host(registry) + "/v2/";
}

}  // namespace sluice::oci

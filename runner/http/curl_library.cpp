// Loads libcurl's shared object on first use and looks up the functions CurlHttpClient
// calls; see curl_library.hpp for why it is not linked.
#include "runner/http/curl_library.hpp"

#include <dlfcn.h>

#include <bit>
#include <string>

namespace sluice::http {

namespace {

// The ABI CMake found the headers for: libcurl4 (OpenSSL), soname libcurl.so.4.
constexpr const char* k_soname = "libcurl.so.4";

template <class Fn>
bool look_up(void* library, const char* name, Fn& fn, std::string& missing) {
    void* symbol = dlsym(library, name);
    if (symbol == nullptr) {
        missing += missing.empty() ? name : std::string(", ") + name;
        return false;
    }
    fn = std::bit_cast<Fn>(symbol);
    return true;
}

util::Result<const CurlLibrary*> load() {
    // RTLD_LOCAL: its symbols stay out of the global scope, so nothing loaded later binds
    // to them by accident.
    void* library = dlopen(k_soname, RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
        const char* why = dlerror();
        return util::fail(util::ErrorCode::unavailable,
                          std::string("cannot load libcurl (") + (why ? why : k_soname) +
                              "): install Debian's libcurl4 package");
    }
    static CurlLibrary table{};
    std::string missing;
    look_up(library, "curl_global_init", table.global_init, missing);
    look_up(library, "curl_easy_init", table.easy_init, missing);
    look_up(library, "curl_easy_cleanup", table.easy_cleanup, missing);
    look_up(library, "curl_easy_setopt", table.easy_setopt, missing);
    look_up(library, "curl_easy_perform", table.easy_perform, missing);
    look_up(library, "curl_easy_getinfo", table.easy_getinfo, missing);
    look_up(library, "curl_easy_strerror", table.easy_strerror, missing);
    look_up(library, "curl_slist_append", table.slist_append, missing);
    look_up(library, "curl_slist_free_all", table.slist_free_all, missing);
    look_up(library, "curl_url", table.url, missing);
    look_up(library, "curl_url_cleanup", table.url_cleanup, missing);
    look_up(library, "curl_url_set", table.url_set, missing);
    look_up(library, "curl_url_get", table.url_get, missing);
    look_up(library, "curl_url_strerror", table.url_strerror, missing);
    look_up(library, "curl_free", table.free, missing);
    if (!missing.empty()) {
        return util::fail(util::ErrorCode::unavailable,
                          std::string(k_soname) + " is too old: it lacks " + missing);
    }
    if (table.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return util::fail(util::ErrorCode::unavailable, "libcurl could not be initialised");
    }
    return &table;
}

}  // namespace

util::Result<const CurlLibrary*> curl_library() {
    static const util::Result<const CurlLibrary*> loaded = load();  // thread-safe, once
    return loaded;
}

}  // namespace sluice::http

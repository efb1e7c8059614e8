// libcurl, loaded (dlopen) when the first request is sent instead of at startup. With the
// ~20 libraries it pulls in (TLS, Kerberos, LDAP, SSH, ...) it would make every sluice
// command take twice as long to start, and most of them (a local run, a git hook, show)
// never speak HTTP. The table holds the few libcurl functions CurlHttpClient calls.
#pragma once

#include <curl/curl.h>

#include "runner/util/error.hpp"

namespace sluice::http {

struct CurlLibrary {
    CURLcode (*global_init)(long flags);
    CURL* (*easy_init)();
    void (*easy_cleanup)(CURL* handle);
    CURLcode (*easy_setopt)(CURL* handle, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL* handle);
    CURLcode (*easy_getinfo)(CURL* handle, CURLINFO info, ...);
    const char* (*easy_strerror)(CURLcode code);
    curl_slist* (*slist_append)(curl_slist* list, const char* line);
    void (*slist_free_all)(curl_slist* list);
    CURLU* (*url)();
    void (*url_cleanup)(CURLU* url);
    CURLUcode (*url_set)(CURLU* url, CURLUPart part, const char* content, unsigned int flags);
    CURLUcode (*url_get)(const CURLU* url, CURLUPart part, char** content, unsigned int flags);
    const char* (*url_strerror)(CURLUcode code);
    void (*free)(void* pointer);
};

// Loads libcurl and initialises it (curl_global_init) the first time it is called, on
// any thread; every later call returns the same table, or the same error when libcurl
// could not be loaded. It is never unloaded.
util::Result<const CurlLibrary*> curl_library();

}  // namespace sluice::http
